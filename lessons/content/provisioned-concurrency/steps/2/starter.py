def handler(event, context):
    hours = event["hours"]
    return {"monthly_usd": hours * 0.0000041667}
