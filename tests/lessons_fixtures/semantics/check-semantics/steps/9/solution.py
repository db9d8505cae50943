def handler(event, context):
    print('login ok')
