def handler(event, context):
    data = bytearray(120 * 1024 * 1024)
    return {'n': len(data)}
