import time


# The slow handler as it is: with no reservation nothing is throttled.
def handler(event, context):
    time.sleep(0.5)
    return {"statusCode": 200, "body": "done"}
