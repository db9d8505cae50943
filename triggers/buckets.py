"""S3-like buckets: objects in the database, event notifications as asynchronous invokes."""

import hashlib
import json
import logging
import re
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from sandbox.engine.rules import events
from sandbox.versions import VersionsError

from .asyncinvoke import enqueue
from .bindings import check_binding
from .models import MAX_OBJECT_BYTES, Bucket, BucketGrant, BucketObject, BucketSubscription

log = logging.getLogger(__name__)
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class BucketError(ValueError):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validate_bucket_name(name):
    if not BUCKET_NAME.fullmatch(name or "") or ".." in name:
        raise BucketError(
            400,
            "InvalidBucketName",
            "A bucket name is 3-63 characters: lower-case letters, digits, '.' and '-', "
            "starting and ending with a letter or digit.",
        )
    return name


def validate_key(key):
    if not key or len(key.encode()) > 1024:
        raise BucketError(400, "InvalidKey", "An object key is 1 to 1 024 bytes.")
    return key


def create_bucket(owner, name):
    validate_bucket_name(name)
    if Bucket.objects.filter(name=name).exists():
        raise BucketError(409, "BucketAlreadyExists", f"A bucket named {name!r} already exists.")
    return Bucket.objects.create(owner=owner, name=name)


def get_bucket(user, name):
    bucket = Bucket.objects.filter(name=name).first()
    if bucket is None:
        raise BucketError(404, "NoSuchBucket", f"The bucket {name!r} does not exist.")
    if bucket.owner_id != user.id:
        raise BucketError(403, "AccessDenied", f"The bucket {name!r} belongs to someone else.")
    return bucket


def too_large_message(size):
    return f"The object is {size} bytes; the limit here is {MAX_OBJECT_BYTES // (1024 * 1024)} MB."


def check_quota(bucket, key, size):
    """What one learner's buckets may hold (settings.STORAGE); overwriting a key frees its old size."""
    limits = settings.STORAGE
    others = BucketObject.objects.filter(bucket__owner_id=bucket.owner_id).exclude(bucket=bucket, key=key)
    totals = others.aggregate(count=Count("id"), size=Sum("size"))
    if totals["count"] + 1 > limits["BUCKET_OBJECTS_PER_LEARNER"]:
        raise BucketError(
            403,
            "QuotaExceeded",
            f"Your buckets already hold {totals['count']} objects, the limit per learner "
            "(BUCKET_OBJECTS_PER_LEARNER). Delete some first.",
        )
    if (totals["size"] or 0) + size > limits["BUCKET_BYTES_PER_LEARNER"]:
        raise BucketError(
            403,
            "QuotaExceeded",
            f"Your buckets hold {totals['size'] or 0} bytes; with this object they would pass the "
            f"limit per learner of {limits['BUCKET_BYTES_PER_LEARNER']} bytes (BUCKET_BYTES_PER_LEARNER). "
            "Delete some objects first.",
        )


def put_object(bucket, key, body, content_type="application/octet-stream"):
    validate_key(key)
    if len(body) > MAX_OBJECT_BYTES:
        raise BucketError(413, "EntityTooLarge", too_large_message(len(body)))
    etag = hashlib.md5(body).hexdigest()
    with transaction.atomic():
        check_quota(bucket, key, len(body))
        obj, _ = BucketObject.objects.update_or_create(
            bucket=bucket,
            key=key,
            defaults={
                "body": body,
                "size": len(body),
                "etag": etag,
                "content_type": content_type or "application/octet-stream",
                "modified": timezone.now(),
            },
        )
        notify(bucket, key, "ObjectCreated:Put", size=len(body), etag=etag)
    return obj


def delete_object(bucket, key):
    with transaction.atomic():
        deleted, _ = BucketObject.objects.filter(bucket=bucket, key=key).delete()
        if deleted:
            notify(bucket, key, "ObjectRemoved:Delete")
    return bool(deleted)


def notify(bucket, key, event_name, size=None, etag=None):
    """One event per matching subscription, each an asynchronous invoke."""
    sequencer = f"{time.time_ns():016X}"
    queued = []
    for subscription in bucket.subscriptions.select_related("function"):
        if not subscription.matches(key):
            continue
        record = events.s3_record(bucket.name, key, size, etag, event_name=event_name, sequencer=sequencer)
        event = {"Records": [record]}
        try:
            queued.append(
                enqueue(
                    subscription.function,
                    json.dumps(event, ensure_ascii=False),
                    trigger="s3",
                    qualifier=subscription.qualifier,
                )
            )
        except VersionsError as exc:  # its alias is gone: the other subscriptions still get theirs
            log.warning("bucket %s: subscription %s not notified: %s", bucket.name, subscription.pk, exc)
    return queued


def subscribe(bucket, function, prefix="", suffix="", qualifier=""):
    if len(prefix) > 200 or len(suffix) > 200:
        raise BucketError(400, "InvalidArgument", "Prefix and suffix filters are at most 200 characters.")
    if bucket.owner_id != function.owner_id:
        raise BucketError(
            403, "AccessDenied", "You can only subscribe your own functions to your own buckets."
        )
    qualifier = check_binding(function, qualifier)
    subscription = BucketSubscription.objects.create(
        bucket=bucket, function=function, prefix=prefix, suffix=suffix, qualifier=qualifier
    )
    BucketGrant.objects.get_or_create(bucket=bucket, function=function)
    return subscription


def grant(bucket, function):
    """Let the function read the bucket (what a subscription also grants)."""
    BucketGrant.objects.get_or_create(bucket=bucket, function=function)


def revoke(bucket, function):
    """Take read access away, and with it the function's subscriptions to the bucket."""
    BucketGrant.objects.filter(bucket=bucket, function=function).delete()
    BucketSubscription.objects.filter(bucket=bucket, function=function).delete()
