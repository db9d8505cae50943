"""Answers to handlers' `coldstart` helper calls (settings.SANDBOX_SERVICES), in the worker.

`spec.key` is the calling function's id. A function reads only buckets it was granted
(subscribing it to a bucket grants read); anything else is "Access Denied". Refusals never repeat
the caller's arguments (the handler has them): a reply costs the parent no more than its own text.
"""

import base64

from sandbox.db_threads import in_db_thread

from .models import Bucket, BucketGrant, BucketObject

LIST_LIMIT = 1000
MAX_KEY = 1024  # S3's limit on a key
MAX_BUCKET = 63  # S3's limit on a bucket name


class ServiceError(Exception):
    pass


async def handle(spec, op, args):
    if op == "buckets.get_object":
        key = args.get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise ServiceError(f"InvalidArgument: the object key is a string of 1 to {MAX_KEY} characters.")
        return await in_db_thread(get_object)(spec.key, args.get("bucket"), key)
    if op == "buckets.list_objects":
        prefix = args.get("prefix") or ""
        if not isinstance(prefix, str) or len(prefix) > MAX_KEY:
            raise ServiceError(f"InvalidArgument: the prefix is a string of at most {MAX_KEY} characters.")
        return await in_db_thread(list_objects)(spec.key, args.get("bucket"), prefix)
    raise ServiceError("Unknown Coldstart service operation.")


def _granted_bucket(function_id, name):
    if not isinstance(name, str) or not name or len(name) > MAX_BUCKET:
        raise ServiceError(f"InvalidArgument: a bucket name is a string of 1 to {MAX_BUCKET} characters.")
    bucket = Bucket.objects.filter(name=name).first()
    granted = (
        bucket is not None
        and function_id is not None
        and BucketGrant.objects.filter(bucket=bucket, function_id=function_id).exists()
    )
    if not granted:
        # Like S3, do not reveal whether a bucket the caller may not read exists.
        raise ServiceError(
            "Access Denied: this function may not read that bucket. "
            "Subscribe it to the bucket (or grant read) on the Triggers tab."
        )
    return bucket


def get_object(function_id, bucket_name, key):
    bucket = _granted_bucket(function_id, bucket_name)
    obj = BucketObject.objects.filter(bucket=bucket, key=key).first()
    if obj is None:
        raise ServiceError("NoSuchKey: the specified key does not exist.")
    return {
        "body": base64.b64encode(bytes(obj.body)).decode(),
        "size": obj.size,
        "etag": obj.etag,
        "content_type": obj.content_type,
    }


def list_objects(function_id, bucket_name, prefix=""):
    bucket = _granted_bucket(function_id, bucket_name)
    objects = BucketObject.objects.filter(bucket=bucket, key__startswith=prefix).order_by("key")
    return {
        "objects": [
            {"key": o.key, "size": o.size, "etag": o.etag}
            for o in objects.only("key", "size", "etag")[:LIST_LIMIT]
        ]
    }
