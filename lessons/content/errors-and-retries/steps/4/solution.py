class InvalidOrder(Exception):
    pass


def handler(event, context):
    if "amount" not in event:
        raise InvalidOrder(f"order {event['order']} has no amount")
    print("charging order", event["order"])
    return {"ok": True}
