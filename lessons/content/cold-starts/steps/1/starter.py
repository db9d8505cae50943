import time


def load_prices():
    time.sleep(0.3)  # stands in for a slow download or connection
    return {"book": 12.5, "pen": 1.2}


def handler(event, context):
    prices = load_prices()
    return {"price": prices[event.get("item", "book")]}
