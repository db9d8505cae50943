# Returns the example price, whatever item was asked for.
def handler(event, context):
    return {"price": 12.5}
