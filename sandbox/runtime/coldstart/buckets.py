"""Read objects from Coldstart buckets the function was granted (the S3 lesson)."""

import base64

from .channel import ServiceError, call

__all__ = ["ServiceError", "get_object", "list_objects"]


def get_object(bucket, key):
    """The object's bytes. Raises ServiceError when it does not exist or access is denied."""
    result = call("buckets.get_object", bucket=bucket, key=key)
    return base64.b64decode(result["body"])


def list_objects(bucket, prefix=""):
    """[{"key", "size", "etag"}] of the objects under `prefix`."""
    return call("buckets.list_objects", bucket=bucket, prefix=prefix)["objects"]
