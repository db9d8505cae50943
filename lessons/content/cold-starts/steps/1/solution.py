import time


def load_prices():
    time.sleep(0.3)  # stands in for a slow download or connection
    return {"book": 12.5, "pen": 1.2}


PRICES = load_prices()  # once per environment, during Init


def handler(event, context):
    return {"price": PRICES[event.get("item", "book")]}
