invocations = 0  # module level: runs once, during Init


def handler(event, context):
    global invocations
    invocations += 1
    return {"invocations": invocations}
