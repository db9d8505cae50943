"""Answers to handlers' `coldstart` helper calls (settings.SANDBOX_SERVICES), in the worker.

`spec.key` is the calling function's id. A function reads only buckets it was granted
(subscribing it to a bucket grants read); anything else is "Access Denied".
"""

import base64

from asgiref.sync import sync_to_async

from .models import Bucket, BucketGrant, BucketObject

LIST_LIMIT = 1000


class ServiceError(Exception):
    pass


async def handle(spec, op, args):
    if op == "buckets.get_object":
        return await sync_to_async(get_object)(spec.key, args.get("bucket"), args.get("key"))
    if op == "buckets.list_objects":
        return await sync_to_async(list_objects)(spec.key, args.get("bucket"), args.get("prefix") or "")
    raise ServiceError(f"Unknown Coldstart service operation {op!r}.")


def _granted_bucket(function_id, name):
    if not isinstance(name, str) or not name:
        raise ServiceError("InvalidArgument: give the bucket name as a string.")
    bucket = Bucket.objects.filter(name=name).first()
    granted = (
        bucket is not None
        and function_id is not None
        and BucketGrant.objects.filter(bucket=bucket, function_id=function_id).exists()
    )
    if not granted:
        # Like S3, do not reveal whether a bucket the caller may not read exists.
        raise ServiceError(
            f"Access Denied: this function may not read bucket {name!r}. "
            "Subscribe it to the bucket (or grant read) on the Triggers tab."
        )
    return bucket


def get_object(function_id, bucket_name, key):
    bucket = _granted_bucket(function_id, bucket_name)
    obj = BucketObject.objects.filter(bucket=bucket, key=key).first()
    if obj is None:
        raise ServiceError(f"NoSuchKey: the bucket {bucket_name!r} has no object {key!r}.")
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
