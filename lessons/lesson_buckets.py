"""Buckets a step's check sets up for the learner's function (the permissions lesson): each is
named lesson-<function slug>-<name>, owned by the learner, filled with the step's objects
(placeholders filled afresh), and granted to the function only when the step says so. An
event names one as "{{bucket:config}}"."""

import re

from lessons.events import fill
from triggers import buckets as bucket_ops
from triggers.models import Bucket, BucketObject

BUCKET_REFERENCE = re.compile(r"\{\{bucket:([a-z0-9-]+)\}\}")


def lesson_bucket(function, name):
    base = re.sub(r"[^a-z0-9-]+", "-", f"lesson-{function.slug}".lower())[: 62 - len(name)].rstrip("-")
    return f"{base}-{name}"


def prepare_buckets(function, buckets, grants=()):
    """Create or refresh the step's buckets; {name: real bucket name}."""
    names = {}
    for spec in buckets:
        real = lesson_bucket(function, spec["name"])
        bucket = Bucket.objects.filter(name=real).first() or bucket_ops.create_bucket(function.owner, real)
        BucketObject.objects.filter(bucket=bucket).delete()
        for key, text in spec.get("objects", {}).items():
            bucket_ops.put_object(bucket, key, str(fill(text)).encode(), "text/plain")
        if spec.get("granted") or spec["name"] in grants:
            bucket_ops.grant(bucket, function)
        names[spec["name"]] = real
    return names


def with_buckets(value, names):
    """`value` with each {{bucket:name}} replaced by the real bucket name."""
    if isinstance(value, dict):
        return {k: with_buckets(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [with_buckets(v, names) for v in value]
    if isinstance(value, str):
        return BUCKET_REFERENCE.sub(lambda m: names.get(m.group(1), m.group(0)), value)
    return value
