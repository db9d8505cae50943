def handler(event, context):
    rps = event["requests_per_second"]
    duration_ms = event["duration_ms"]
    return {"concurrency": rps * duration_ms}
