import json


def handler(event, context):
    first = event["Records"][0]
    print("order", json.loads(first["body"])["order"])
    return {"batchItemFailures": []}
