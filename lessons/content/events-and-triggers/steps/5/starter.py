def handler(event, context):
    print("got an event")
