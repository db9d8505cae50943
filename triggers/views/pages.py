"""The Triggers tab: a function's buckets, queues, schedules and async events on one page."""

import hashlib

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from sandbox.web.ownership import own_function
from sandbox.web.public_url import function_url
from triggers import queues, schedules
from triggers.http import body_limit
from triggers.models import (
    MAX_OBJECT_BYTES,
    AsyncEvent,
    Bucket,
    BucketGrant,
    Queue,
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
    return {
        "function": function,
        "public_url": function_url(request, function.slug),
        "bucket_rows": bucket_rows,
        "queue_rows": queue_rows,
        "queues": [row["queue"] for row in queue_rows],
        "schedule_rows": schedule_rows,
        **async_events_context(function),
        **recent_triggered_context(function),
        "max_object_mb": MAX_OBJECT_BYTES // (1024 * 1024),
        "http_body_limit": body_limit(),
        "classroom_speed": settings.TIMER_SCALE != 1,
        "scale_note": schedules.describe_scale(),
        "timer_scale": settings.TIMER_SCALE,
        "qualifiers": [""] + list(function.aliases.values_list("name", flat=True)),
    }


def _signature(rows):
    """A short digest of what a polled fragment shows: unchanged, the poll answers 204."""
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def async_events_context(function):
    dead = list(AsyncEvent.objects.filter(function=function, status=AsyncEvent.DEAD)[:50])
    pending = list(
        AsyncEvent.objects.filter(function=function, status__in=[AsyncEvent.PENDING, AsyncEvent.RUNNING])[:50]
    )
    shown = [(e.pk, e.status, e.attempts, e.last_status, e.next_attempt_at) for e in pending + dead]
    return {
        "function": function,
        "dead_events": dead,
        "pending_events": pending,
        "async_signature": _signature(shown),
    }


def recent_triggered_context(function):
    recent = list(
        function.invocations.exclude(trigger="console").only(
            "request_id", "trigger", "status", "created", "duration_ms"
        )[:15]
    )
    return {
        "function": function,
        "recent_triggered": recent,
        "recent_signature": _signature([(i.pk, i.status, i.duration_ms) for i in recent]),
    }


# The parts of the page that poll: ?part=NAME&seen=SIGNATURE (204 while nothing changed).
POLLED_PARTS = {
    "async": (async_events_context, "async_signature", "triggers/fragments/async_events.html"),
    "recent": (recent_triggered_context, "recent_signature", "triggers/fragments/recent_triggered.html"),
}


def _polled_part(request, function, part):
    build, signature_key, template = POLLED_PARTS[part]
    context = build(function)
    if request.GET.get("seen") == context[signature_key]:
        return HttpResponse(status=204)
    return render(request, template, context)


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
    function = own_function(request, slug)
    part = request.GET.get("part")
    if part in POLLED_PARTS:
        return _polled_part(request, function, part)
    if part == "queue":
        queue = get_object_or_404(Queue, name=request.GET.get("queue", ""), owner=request.user)
        context = {"function": function, "row": _queue_row(queue, function)}
        return render(request, "triggers/fragments/queue_state.html", context)
    return render(request, "triggers/page.html", _page_context(request, function))
