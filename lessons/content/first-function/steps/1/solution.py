def handler(event, context):
    name = event.get("name", "world")
    print("Greeting", name)
    return {"statusCode": 200, "body": f"Hello, {name}!"}
