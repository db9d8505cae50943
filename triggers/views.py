"""The Triggers tab of a function, and the bucket / queue API for scripts and curl."""

import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from sandbox.api import ApiError, api_endpoint
from sandbox.models import ApiToken
from sandbox.views import _own_function

from . import buckets as bucket_ops
from . import cron, queues, schedules
from .http import body_limit
from .models import (
    MAX_OBJECT_BYTES,
    AsyncEvent,
    Bucket,
    BucketGrant,
    BucketSubscription,
    Queue,
    QueueMessage,
    QueueSubscription,
    Schedule,
)


def _page_context(request, function):
    user = request.user
    own_buckets = list(Bucket.objects.filter(owner=user).prefetch_related("subscriptions__function"))
    granted = set(BucketGrant.objects.filter(function=function).values_list("bucket_id", flat=True))
    bucket_rows = []
    for bucket in own_buckets:
        bucket_rows.append(
            {
                "bucket": bucket,
                "objects": list(bucket.contents.defer("body")[:50]),
                "object_count": bucket.contents.count(),
                "subscriptions": [s for s in bucket.subscriptions.all() if s.function_id == function.id],
                "granted": bucket.id in granted,
            }
        )
    queue_rows = [
        _queue_row(queue, function)
        for queue in Queue.objects.filter(owner=user).select_related("dead_letter_queue")
    ]
    schedule_rows = [
        {"schedule": s, "upcoming": schedules.upcoming(s)} for s in Schedule.objects.filter(function=function)
    ]
    public_url = request.build_absolute_uri(f"/fn/{function.slug}/")
    return {
        "function": function,
        "public_url": public_url,
        "bucket_rows": bucket_rows,
        "queue_rows": queue_rows,
        "queues": [row["queue"] for row in queue_rows],
        "schedule_rows": schedule_rows,
        "dead_events": AsyncEvent.objects.filter(function=function, status=AsyncEvent.DEAD)[:50],
        "pending_events": AsyncEvent.objects.filter(
            function=function, status__in=[AsyncEvent.PENDING, AsyncEvent.RUNNING]
        )[:50],
        "recent_triggered": function.invocations.exclude(trigger="console").only(
            "request_id", "trigger", "status", "created", "duration_ms"
        )[:15],
        "api_token": ApiToken.for_user(user).key,
        "max_object_mb": MAX_OBJECT_BYTES // (1024 * 1024),
        "http_body_limit": body_limit(),
        "classroom_speed": settings.TIMER_SCALE != 1,
        "scale_note": schedules.describe_scale(),
        "timer_scale": settings.TIMER_SCALE,
    }


def _queue_row(queue, function):
    state = queues.queue_state(queue)
    return {
        "queue": queue,
        "visible": state["visible"][:50],
        "in_flight": state["in_flight"][:50],
        "visible_count": len(state["visible"]),
        "in_flight_count": len(state["in_flight"]),
        "subscription": QueueSubscription.objects.filter(queue=queue, function=function).first(),
        "sources": [q.name for q in queue.source_queues.all()],
    }


@require_GET
def triggers_page(request, slug):
    function = _own_function(request, slug)
    if request.GET.get("part") == "queue":
        queue = get_object_or_404(Queue, name=request.GET.get("queue", ""), owner=request.user)
        context = {"function": function, "row": _queue_row(queue, function)}
        return render(request, "triggers/fragments/queue_state.html", context)
    return render(request, "triggers/page.html", _page_context(request, function))


@require_POST
def triggers_action(request, slug):
    function = _own_function(request, slug)
    action = request.POST.get("action", "")
    handler = ACTIONS.get(action)
    anchor = action.split("_")[0]
    if handler is None:
        messages.error(request, f"Unknown action {action!r}.", extra_tags="")
    else:
        try:
            text = handler(request, function, request.POST)
            if text:
                messages.success(request, text, extra_tags=anchor)
        except (bucket_ops.BucketError, queues.QueueError, cron.ScheduleError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", None) or str(exc), extra_tags=anchor)
    return redirect(f"/functions/{function.slug}/triggers/#{anchor}")


def _own_bucket(request, data):
    return bucket_ops.get_bucket(request.user, data.get("bucket", ""))


def _own_queue(request, name):
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise queues.QueueError(f"The queue {name!r} does not exist.")
    if queue.owner_id != request.user.id:
        raise queues.QueueError(f"The queue {name!r} belongs to someone else.")
    return queue


def _bucket_create(request, function, data):
    bucket = bucket_ops.create_bucket(request.user, data.get("name", "").strip())
    return f"Bucket {bucket.name} created."


def _bucket_upload(request, function, data):
    bucket = _own_bucket(request, data)
    upload = request.FILES.get("file")
    if upload is None:
        raise ValueError("Choose a file to upload.")
    if upload.size > MAX_OBJECT_BYTES:
        raise bucket_ops.BucketError(413, "EntityTooLarge", bucket_ops.too_large_message(upload.size))
    key = (data.get("key") or "").strip() or upload.name
    bucket_ops.put_object(bucket, key, upload.read(), upload.content_type)
    return f"Uploaded {key} ({upload.size} bytes) to {bucket.name}."


def _bucket_delete_object(request, function, data):
    bucket = _own_bucket(request, data)
    key = data.get("key", "")
    if not bucket_ops.delete_object(bucket, key):
        raise ValueError(f"The bucket {bucket.name} has no object {key!r}.")
    return f"Deleted {key} from {bucket.name}."


def _bucket_subscribe(request, function, data):
    bucket = _own_bucket(request, data)
    bucket_ops.subscribe(bucket, function, data.get("prefix", "").strip(), data.get("suffix", "").strip())
    return f"{function.name} now gets the events of {bucket.name} and may read it."


def _bucket_unsubscribe(request, function, data):
    BucketSubscription.objects.filter(pk=data.get("id") or 0, function=function).delete()
    return "Subscription removed (read access stays; revoke it separately)."


def _bucket_grant(request, function, data):
    bucket = _own_bucket(request, data)
    BucketGrant.objects.get_or_create(bucket=bucket, function=function)
    return f"{function.name} may read {bucket.name}."


def _bucket_revoke(request, function, data):
    bucket = _own_bucket(request, data)
    BucketGrant.objects.filter(bucket=bucket, function=function).delete()
    BucketSubscription.objects.filter(bucket=bucket, function=function).delete()
    return f"{function.name} may no longer read {bucket.name} (its subscriptions were removed)."


def _number(data, name, label, low, high, default, kind=float):
    raw = (data.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{label} must be a number.") from None
    if not low <= value <= high:
        raise ValueError(f"{label} must be between {low:g} and {high:g}.")
    return value


def _queue_create(request, function, data):
    dlq = None
    if data.get("dead_letter_queue"):
        dlq = _own_queue(request, data["dead_letter_queue"])
    queue = queues.create_queue(
        request.user,
        data.get("name", "").strip(),
        visibility_timeout_s=_number(data, "visibility_timeout_s", "Visibility timeout", 0, 43200, 30),
        max_receive_count=_number(data, "max_receive_count", "maxReceiveCount", 1, 1000, 3, int),
        dead_letter_queue=dlq,
    )
    return f"Queue {queue.name} created."


def _queue_send(request, function, data):
    queue = _own_queue(request, data.get("queue", ""))
    count = _number(data, "count", "Copies", 1, 100, 1, int)
    for _ in range(count):
        message = queues.send_message(queue, data.get("body", ""))
    return f"Sent {count} message(s) to {queue.name} (last id {message.message_id})."


def _queue_subscribe(request, function, data):
    queue = _own_queue(request, data.get("queue", ""))
    batch_size = _number(data, "batch_size", "Batch size", 1, 100, 10, int)
    window = _number(data, "batch_window_s", "Batching window", 0, 300, 0)
    QueueSubscription.objects.update_or_create(
        queue=queue,
        function=function,
        defaults={
            "batch_size": batch_size,
            "batch_window_s": window,
            "report_batch_item_failures": bool(data.get("report_batch_item_failures")),
            "enabled": True,
        },
    )
    return f"{function.name} polls {queue.name}: batches of up to {batch_size}, window {window:g} s."


def _queue_unsubscribe(request, function, data):
    QueueSubscription.objects.filter(pk=data.get("id") or 0, function=function).delete()
    return "Queue subscription removed."


def _queue_purge(request, function, data):
    queue = _own_queue(request, data.get("queue", ""))
    count, _ = QueueMessage.objects.filter(queue=queue).delete()
    return f"Purged {count} message(s) from {queue.name}."


def _queue_redrive(request, function, data):
    """Move a DLQ's messages back to the queue(s) they came from."""
    queue = _own_queue(request, data.get("queue", ""))
    moved = 0
    for message in queue.messages.exclude(moved_from=""):
        source = Queue.objects.filter(name=message.moved_from, owner=request.user).first()
        if source is not None:
            QueueMessage.objects.filter(pk=message.pk).update(queue=source, moved_from="", receive_count=0)
            moved += 1
    return f"Redrove {moved} message(s) from {queue.name}."


def _schedule_create(request, function, data):
    schedule = schedules.create_schedule(function, data.get("name", "").strip(), data.get("expression", ""))
    return f"Schedule {schedule.name} created: {schedule.expression}."


def _schedule_toggle(request, function, data):
    schedule = get_object_or_404(Schedule, pk=data.get("id") or 0, function=function)
    schedules.set_enabled(schedule, not schedule.enabled)
    return f"Schedule {schedule.name} {'enabled' if schedule.enabled else 'disabled'}."


def _schedule_delete(request, function, data):
    Schedule.objects.filter(pk=data.get("id") or 0, function=function).delete()
    return "Schedule deleted."


def _async_clear(request, function, data):
    count, _ = AsyncEvent.objects.filter(function=function, status=AsyncEvent.DEAD).delete()
    return f"Cleared {count} dead-lettered event(s)."


ACTIONS = {
    "bucket_create": _bucket_create,
    "bucket_upload": _bucket_upload,
    "bucket_deleteobject": _bucket_delete_object,
    "bucket_subscribe": _bucket_subscribe,
    "bucket_unsubscribe": _bucket_unsubscribe,
    "bucket_grant": _bucket_grant,
    "bucket_revoke": _bucket_revoke,
    "queue_create": _queue_create,
    "queue_send": _queue_send,
    "queue_subscribe": _queue_subscribe,
    "queue_unsubscribe": _queue_unsubscribe,
    "queue_purge": _queue_purge,
    "queue_redrive": _queue_redrive,
    "schedule_create": _schedule_create,
    "schedule_toggle": _schedule_toggle,
    "schedule_delete": _schedule_delete,
    "async_clear": _async_clear,
}


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
