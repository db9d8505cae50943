PRICE_PER_GB_SECOND = 0.0000041667  # provisioned capacity, us-east-1 x86


def handler(event, context):
    gb = event["memory_mb"] / 1024
    seconds = event["hours"] * 3600
    gb_seconds = gb * event["environments"] * seconds
    return {"monthly_usd": round(gb_seconds * PRICE_PER_GB_SECOND, 2)}
