def handler(event, context):
    print('login ok password=hunter2')
