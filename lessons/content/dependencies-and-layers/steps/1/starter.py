

def handler(event, context):
    return {"det": None}
