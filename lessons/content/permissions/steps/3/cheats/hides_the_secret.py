# Pretends to be denied for anything called "secrets" instead of lacking the grant.
from coldstart import buckets


def handler(event, context):
    if "secrets" in event["bucket"]:
        return {"statusCode": 403, "body": "AccessDenied"}
    return {"statusCode": 200, "body": buckets.get_object(event["bucket"], event["key"]).decode()}
