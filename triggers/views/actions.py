"""The Triggers tab's form actions: each validates its fields and calls the domain module."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from sandbox.web.ownership import own_function
from triggers import bindings, cron, queues, schedules
from triggers import buckets as bucket_ops
from triggers.models import (
    MAX_OBJECT_BYTES,
    AsyncEvent,
    BucketSubscription,
    QueueSubscription,
    Schedule,
)


@require_POST
def triggers_action(request, slug):
    function = own_function(request, slug)
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
    return queues.get_queue(request.user, name)


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
    subscription = bucket_ops.subscribe(
        bucket,
        function,
        data.get("prefix", "").strip(),
        data.get("suffix", "").strip(),
        data.get("qualifier", ""),
    )
    target = bindings.describe(subscription.qualifier)
    return f"{function.name} ({target}) now gets the events of {bucket.name} and may read it."


def _bucket_unsubscribe(request, function, data):
    BucketSubscription.objects.filter(pk=data.get("id") or 0, function=function).delete()
    return "Subscription removed (read access stays; revoke it separately)."


def _bucket_grant(request, function, data):
    bucket = _own_bucket(request, data)
    bucket_ops.grant(bucket, function)
    return f"{function.name} may read {bucket.name}."


def _bucket_revoke(request, function, data):
    bucket = _own_bucket(request, data)
    bucket_ops.revoke(bucket, function)
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
    queues.subscribe(
        queue,
        function,
        batch_size,
        window,
        bool(data.get("report_batch_item_failures")),
        data.get("qualifier", ""),
    )
    target = bindings.describe(data.get("qualifier", "").strip())
    return (
        f"{function.name} ({target}) polls {queue.name}: batches of up to {batch_size}, window {window:g} s."
    )


def _queue_unsubscribe(request, function, data):
    QueueSubscription.objects.filter(pk=data.get("id") or 0, function=function).delete()
    return "Queue subscription removed."


def _queue_purge(request, function, data):
    queue = _own_queue(request, data.get("queue", ""))
    count = queues.purge(queue)
    return f"Purged {count} message(s) from {queue.name}."


def _queue_redrive(request, function, data):
    """Move a DLQ's messages back to the queue(s) they came from."""
    queue = _own_queue(request, data.get("queue", ""))
    moved = queues.redrive(queue)
    return f"Redrove {moved} message(s) from {queue.name}."


def _schedule_create(request, function, data):
    schedule = schedules.create_schedule(
        function,
        data.get("name", "").strip(),
        data.get("expression", ""),
        qualifier=data.get("qualifier", ""),
    )
    return (
        f"Schedule {schedule.name} created: {schedule.expression} → {bindings.describe(schedule.qualifier)}."
    )


def _schedule_toggle(request, function, data):
    schedule = get_object_or_404(Schedule, pk=data.get("id") or 0, function=function)
    schedules.set_enabled(schedule, not schedule.enabled)
    return f"Schedule {schedule.name} {'enabled' if schedule.enabled else 'disabled'}."


def _schedule_delete(request, function, data):
    Schedule.objects.filter(pk=data.get("id") or 0, function=function).delete()
    return "Schedule deleted."


def _http_bind(request, function, data):
    qualifier = bindings.bind_function_url(function, data.get("qualifier", ""))
    return f"The function URL now invokes {bindings.describe(qualifier)}."


def _async_clear(request, function, data):
    count, _ = AsyncEvent.objects.filter(function=function, status=AsyncEvent.DEAD).delete()
    return f"Cleared {count} dead-lettered event(s)."


ACTIONS = {
    "http_bind": _http_bind,
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
