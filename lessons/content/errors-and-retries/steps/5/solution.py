import json


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            print("processed order", order["order"])
        except (ValueError, KeyError) as exc:
            print("could not process", record["messageId"], exc)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
