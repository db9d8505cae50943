import logging

logger = logging.getLogger()


def handler(event, context):
    logger.info("order accepted", extra={"order_id": event["order_id"], "amount": event["amount"]})
    return {"ok": True}
