# Returns the example greeting (and is never published).
def handler(event, context):
    return {"message": "Hello, Ada!"}
