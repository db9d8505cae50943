import math

FREE_GB_SECONDS = 400_000
FREE_REQUESTS = 1_000_000


def handler(event, context):
    billed_ms = math.ceil(event["duration_ms"])
    requests = event["requests"]
    gb_seconds = event["memory_mb"] / 1024 * billed_ms / 1000 * requests
    free = gb_seconds <= FREE_GB_SECONDS and requests <= FREE_REQUESTS
    return {"gb_seconds": round(gb_seconds, 3), "free": free}
