"""The buckets' and queues' JSON API (session or Bearer token)."""

import json

from django.http import HttpResponse, JsonResponse

from sandbox.web.api_access import ApiError, api_endpoint
from triggers import buckets as bucket_ops
from triggers import queues
from triggers.models import (
    MAX_OBJECT_BYTES,
    Queue,
)


# ---------------------------------------------------------------- JSON API (session or Bearer)
def _bucket_for(user, name):
    try:
        return bucket_ops.get_bucket(user, name)
    except bucket_ops.BucketError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


@api_endpoint(["GET", "PUT", "DELETE"])
def bucket_object(request, user, bucket, key):
    target = _bucket_for(user, bucket)
    if request.method == "GET":
        obj = target.contents.filter(key=key).first()
        if obj is None:
            raise ApiError(404, "NoSuchKey", f"The bucket {bucket!r} has no object {key!r}.")
        response = HttpResponse(bytes(obj.body), content_type=obj.content_type)
        response["ETag"] = f'"{obj.etag}"'
        return response
    if request.method == "DELETE":
        if not bucket_ops.delete_object(target, key):
            raise ApiError(404, "NoSuchKey", f"The bucket {bucket!r} has no object {key!r}.")
        return HttpResponse(status=204)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_OBJECT_BYTES:
        raise ApiError(413, "EntityTooLarge", bucket_ops.too_large_message(length))
    try:
        obj = bucket_ops.put_object(
            target, key, request.body, request.headers.get("Content-Type") or "application/octet-stream"
        )
    except bucket_ops.BucketError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return JsonResponse({"bucket": bucket, "key": key, "size": obj.size, "eTag": obj.etag}, status=200)


@api_endpoint(["GET"])
def bucket_list(request, user, bucket):
    target = _bucket_for(user, bucket)
    prefix = request.GET.get("prefix", "")
    objects = target.contents.filter(key__startswith=prefix).only("key", "size", "etag", "modified")
    return JsonResponse(
        {
            "bucket": bucket,
            "objects": [
                {"key": o.key, "size": o.size, "eTag": o.etag, "lastModified": o.modified.isoformat()}
                for o in objects[:1000]
            ],
        }
    )


@api_endpoint(["POST"])
def queue_messages(request, user, queue):
    target = Queue.objects.filter(name=queue).first()
    if target is None:
        raise ApiError(404, "QueueDoesNotExist", f"The queue {queue!r} does not exist.")
    if target.owner_id != user.id:
        raise ApiError(403, "AccessDenied", f"The queue {queue!r} belongs to someone else.")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise ApiError(400, "InvalidRequest", f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or "body" not in data:
        raise ApiError(
            400, "InvalidRequest", 'Send {"body": "<message text>"} (and optionally messageAttributes).'
        )
    try:
        message = queues.send_message(target, data["body"], data.get("messageAttributes"))
    except queues.QueueError as exc:
        raise ApiError(400, "InvalidMessageContents", str(exc)) from None
    return JsonResponse({"messageId": str(message.message_id), "md5OfBody": message.md5}, status=201)
