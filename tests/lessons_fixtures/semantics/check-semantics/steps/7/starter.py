def handler(event, context):
    raise KeyError('x')
