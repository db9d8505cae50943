def handler(event, context):
    if "amount" not in event:
        return {"error": f"order {event['order']} has no amount"}
    print("charging order", event["order"])
    return {"ok": True}
