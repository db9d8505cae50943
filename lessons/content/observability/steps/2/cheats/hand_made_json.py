import json


# Prints a JSON-looking line by hand for the example order.
def handler(event, context):
    print(json.dumps({"level": "INFO", "message": "order accepted", "order_id": 42, "amount": 12.5}))
    return {"ok": True}
