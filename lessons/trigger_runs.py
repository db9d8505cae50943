"""Checks that go through the real event sources instead of invoking directly: a step with
`run: {via: bucket}` uploads its events' objects to the learner's lesson bucket, `via: queue`
sends them to the learner's lesson queue, `via: async` invokes asynchronously. The function is
then invoked by the trigger itself (S3 notification, SQS poller, async retries and DLQ), and
the check judges the invocations that trigger made.

Events of such a step describe what to send: `{key, body}` for a bucket, `{body}` for a queue,
any event for async. The lesson bucket and queue are made on first use and named after the
function, so the learner sees them on the Triggers tab.
"""

import asyncio
import json
import re

from asgiref.sync import sync_to_async
from django.utils import timezone

from sandbox.models import Invocation
from sandbox.worker import ensure_embedded_worker
from triggers import buckets, queues
from triggers.asyncinvoke import enqueue
from triggers.models import AsyncEvent, Bucket, BucketSubscription, Queue, QueueMessage, QueueSubscription

VIA = {"bucket": ("s3",), "queue": ("sqs",), "async": ("async",)}
POLL_SECONDS = 0.2
LESSON_QUEUE = {"visibility_timeout_s": 2, "max_receive_count": 2}  # short, so a class sees a DLQ


async def run_via(function, via, events, timeout_s):
    """Send `events` through the `via` event source; the invocations it made, oldest first."""
    started = timezone.now()
    ensure_embedded_worker()  # its background loops deliver the events
    send = {"bucket": _upload, "queue": _send, "async": _enqueue}[via]
    pending = await sync_to_async(send)(function, events)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline and not await sync_to_async(_delivered)(function, via, pending, started):
        await asyncio.sleep(POLL_SECONDS)
    return await sync_to_async(lambda: list(_invocations(function, via, started)))()


def lesson_bucket_name(function):
    """`lesson-<slug>` as a valid bucket (and queue) name: lower-case, at most 63 characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"lesson-{function.slug}".lower())
    return name[:63].rstrip("-")


def _upload(function, events):
    bucket = Bucket.objects.filter(name=lesson_bucket_name(function)).first()
    if bucket is None:
        bucket = buckets.create_bucket(function.owner, lesson_bucket_name(function))
    if not BucketSubscription.objects.filter(bucket=bucket, function=function).exists():
        buckets.subscribe(bucket, function)
    for event in events:
        buckets.put_object(bucket, str(event["key"]), str(event.get("body", "")).encode())
    return len(events)


def _send(function, events):
    name = lesson_bucket_name(function)
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        dead = queues.create_queue(function.owner, f"{name}-dlq"[:80])
        queue = queues.create_queue(function.owner, name, dead_letter_queue=dead, **LESSON_QUEUE)
    if not QueueSubscription.objects.filter(queue=queue, function=function).exists():
        queues.subscribe(queue, function, batch_size=10, batch_window_s=0, report_batch_item_failures=True)
    QueueMessage.objects.filter(queue=queue).delete()  # a fresh start for each Check
    for event in events:
        body = event.get("body", "")
        queues.send_message(queue, body if isinstance(body, str) else json.dumps(body))
    return queue.pk


def _enqueue(function, events):
    return [enqueue(function, json.dumps(event), trigger="async").pk for event in events]


def _delivered(function, via, pending, started):
    """True once the event source has nothing left to do for this Check."""
    unfinished = (Invocation.QUEUED, Invocation.RUNNING)
    if Invocation.objects.filter(function=function, created__gte=started, status__in=unfinished).exists():
        return False
    if via == "bucket":
        return _invocations(function, via, started).count() >= pending
    if via == "queue":  # every message processed (deleted) or moved to the dead-letter queue
        return not QueueMessage.objects.filter(queue_id=pending).exists()
    settled = (AsyncEvent.SUCCEEDED, AsyncEvent.DEAD)
    return not AsyncEvent.objects.filter(pk__in=pending).exclude(status__in=settled).exists()


def _invocations(function, via, started):
    return Invocation.objects.filter(
        function=function, created__gte=started, trigger__startswith=VIA[via][0]
    ).order_by("created", "id")
