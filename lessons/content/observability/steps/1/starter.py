import logging

logger = logging.getLogger()


def handler(event, context):
    logger.info("processing order %s", event["order"])
    return {"ok": True}
