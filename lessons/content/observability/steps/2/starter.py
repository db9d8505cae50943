import logging

logger = logging.getLogger()


def handler(event, context):
    print("order accepted", event["order_id"], event["amount"])
    return {"ok": True}
