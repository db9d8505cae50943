import json


def handler(event, context):
    first = json.loads(event["Records"][0]["body"])
    return {"count": 1, "total": first["amount"]}
