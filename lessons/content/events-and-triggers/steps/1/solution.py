import json


def handler(event, context):
    order = json.loads(event.get("body") or "{}")
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"ordered": order["item"], "qty": order["qty"]}),
    }
