def handler(event, context):
    print("handling request", context.aws_request_id)
    name = event.get("name", "world")
    return {"statusCode": 200, "body": f"Hello, {name}!"}
