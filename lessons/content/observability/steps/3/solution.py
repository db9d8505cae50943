import logging
import time

logger = logging.getLogger()


def process(items):
    time.sleep(0.001 * items)  # each item costs a millisecond (a database write, say)


def handler(event, context):
    started = time.perf_counter()
    process(event["items"])
    ms = (time.perf_counter() - started) * 1000
    if ms > 200:
        logger.warning("slow order %s: %d ms", event["order_id"], ms)
    return {"ok": True}
