def handler(event, context):
    return {"cleaned": True}
