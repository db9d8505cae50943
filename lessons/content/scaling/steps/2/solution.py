import time


def handler(event, context):
    time.sleep(0.5)  # a slow downstream call
    return {"statusCode": 200, "body": "done"}
