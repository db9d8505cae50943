import math


def handler(event, context):
    rps = event["requests_per_second"]
    seconds = event["duration_ms"] / 1000
    return {"concurrency": math.ceil(rps * seconds)}
