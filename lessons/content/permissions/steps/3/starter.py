from coldstart import buckets


def handler(event, context):
    try:
        body = buckets.get_object(event["bucket"], event["key"]).decode()
    except buckets.ServiceError as exc:
        print("denied:", exc)
        return {"statusCode": 403, "body": "AccessDenied"}
    return {"statusCode": 200, "body": body}
