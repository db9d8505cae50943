def handler(event, context):
    return {"message": "Hello, world!"}
