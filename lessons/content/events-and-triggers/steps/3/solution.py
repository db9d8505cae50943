import json


def handler(event, context):
    orders = [json.loads(record["body"]) for record in event["Records"]]
    return {"count": len(orders), "total": sum(order["amount"] for order in orders)}
