import time


def handler(event, context):
    time.sleep(2)
    return {}
