def handler(event, context):
    return {'n': 0}
