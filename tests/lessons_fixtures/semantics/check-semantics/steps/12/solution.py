import time


def handler(event, context):
    time.sleep(0.3)
    return {}
