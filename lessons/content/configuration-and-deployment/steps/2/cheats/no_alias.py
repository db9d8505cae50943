# Answers as both versions would, with no versions or alias behind it.
def handler(event, context):
    return {"message": f"Hello, {event['name']}!", "beta": True}
