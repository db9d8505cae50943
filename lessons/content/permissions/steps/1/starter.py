from coldstart import buckets


def handler(event, context):
    body = buckets.get_object(event["bucket"], event["key"]).decode()
    return {"statusCode": 200, "body": body}
