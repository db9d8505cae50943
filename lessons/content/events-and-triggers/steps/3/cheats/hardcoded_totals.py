# Returns the totals of the example batch.
def handler(event, context):
    return {"count": 3, "total": 50}
