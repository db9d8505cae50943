# Returns what the lesson text shows.
def handler(event, context):
    return {"statusCode": 200, "body": "Hello, Ada!"}
