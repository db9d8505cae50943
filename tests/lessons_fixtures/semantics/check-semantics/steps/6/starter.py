import time


def handler(event, context):
    time.sleep(0.4)
    return {}
