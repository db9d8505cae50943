def handler(event, context):
    print("Hello from", context.function_name)
    return {
        "statusCode": 200,
        "body": "Hello, world!",
    }
