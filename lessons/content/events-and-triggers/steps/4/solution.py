def handler(event, context):
    print(f"Nightly cleanup at {event['time']}")
