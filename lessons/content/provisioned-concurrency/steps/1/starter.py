import time

time.sleep(0.5)  # slow Init: loading a framework, a model, connections...
READY = True


def handler(event, context):
    return {"statusCode": 200, "body": "warm and ready"}
