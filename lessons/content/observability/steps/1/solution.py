import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    logger.info("processing order %s", event["order"])
    return {"ok": True}
