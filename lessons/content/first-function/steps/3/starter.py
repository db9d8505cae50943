def handler(event, context):
    invocations = 0
    invocations += 1
    return {"invocations": invocations}
