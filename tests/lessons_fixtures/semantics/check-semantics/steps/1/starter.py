def handler(event, context):
    return {'statusCode': 500, 'body': 'oops'}
