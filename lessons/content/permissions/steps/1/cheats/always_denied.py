# Answers 403 to everything without reading anything.
def handler(event, context):
    return {"statusCode": 403, "body": "AccessDenied"}
