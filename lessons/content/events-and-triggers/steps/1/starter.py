import json


def handler(event, context):
    print(event["requestContext"]["http"]["method"], event["rawPath"])
    print("headers:", json.dumps(event["headers"]))
    return {"statusCode": 200, "body": "OK"}
