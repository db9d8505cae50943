def handler(event, context):
    gb = event["memory_mb"] / 1024
    seconds = event["duration_ms"] / 1000
    return {"gb_seconds": gb * seconds, "free": True}
