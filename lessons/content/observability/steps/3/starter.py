import logging
import time

logger = logging.getLogger()


def process(items):
    time.sleep(0.001 * items)  # each item costs a millisecond (a database write, say)


def handler(event, context):
    process(event["items"])
    return {"ok": True}
