# Deletes the beta flag in code instead of moving the alias.
def handler(event, context):
    return {"message": f"Hello, {event['name']}!"}
