"""SQS-like queues: send, and the poller that delivers batches to subscribed functions.

Message life: visible -> received (in flight until its visibility timeout) -> deleted when the
function succeeds, or visible again when it fails; after maxReceiveCount receives it moves to
the dead-letter queue (without a DLQ it keeps coming back, as in SQS). Partial batch responses
(`{"batchItemFailures": [{"itemIdentifier": id}]}`) delete only the messages that succeeded.
Delivery is at least once: a message whose batch outlives its visibility timeout can be
delivered again while the first batch still runs.
"""

import asyncio
import hashlib
import json
import logging
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sandbox import worker
from sandbox.db_threads import in_db_thread
from sandbox.engine.rules import events
from sandbox.models import Invocation
from sandbox.worker import start_invocation, wait_until_finished

from .bindings import check_binding
from .models import MAX_MESSAGE_BYTES, Queue, QueueMessage, QueueSubscription

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1  # while messages flow or a batching window is open
IDLE_POLL_SECONDS = 0.5  # when the last pass found nothing to deliver
QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


class QueueError(ValueError):
    pass


def validate_name(name):
    if not QUEUE_NAME.fullmatch(name or ""):
        raise QueueError("A queue name is 1-80 characters: letters, digits, '-' and '_'.")
    return name


def validate_body(body):
    if not isinstance(body, str):
        raise QueueError("The message body must be a string (send JSON as text).")
    if not body:
        raise QueueError("The message body must not be empty.")
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        raise QueueError(f"The message body is over the SQS limit of {MAX_MESSAGE_BYTES // 1024} KB.")
    if "\x00" in body:
        raise QueueError("The message body contains characters SQS does not allow (NUL).")
    return body


def send_message(queue, body, attributes=None):
    body = validate_body(body)
    if attributes is not None and not isinstance(attributes, dict):
        raise QueueError("messageAttributes must be an object.")
    limit = settings.STORAGE["QUEUE_MESSAGES_PER_LEARNER"]
    if QueueMessage.objects.filter(queue__owner_id=queue.owner_id).count() >= limit:
        raise QueueError(
            f"Your queues already hold {limit} messages, the limit per learner "
            "(QUEUE_MESSAGES_PER_LEARNER): purge a queue or let its subscriber drain it first."
        )
    return QueueMessage.objects.create(
        queue=queue, body=body, md5=hashlib.md5(body.encode()).hexdigest(), attributes=attributes or {}
    )


def queue_state(queue):
    now = timezone.now()
    messages = list(queue.messages.all())
    return {
        "visible": [m for m in messages if m.visible_at <= now],
        "in_flight": [m for m in messages if m.visible_at > now],
    }


# ---------------------------------------------------------------- the poller
def _move_to_dead_letter(queue, now):
    """Visible messages already received maxReceiveCount times go to the DLQ."""
    if queue.dead_letter_queue_id is None:
        return 0
    spent = queue.messages.filter(visible_at__lte=now, receive_count__gte=queue.max_receive_count)
    return spent.update(
        queue_id=queue.dead_letter_queue_id,
        moved_from=queue.name,
        receive_count=0,
        first_received=None,
        receipt="",
        visible_at=now,
    )


@in_db_thread(writes=True)
def _receive(subscription_id, window_started):
    """Claim a batch for the subscription, or None if it should wait (empty, or inside its
    batching window). Returns (messages, receipt) or (None, window_started)."""
    subscriptions = QueueSubscription.objects.select_related("queue", "function")
    subscription = subscriptions.filter(pk=subscription_id).first()
    if subscription is None:  # deleted since the poller listed it (a learner removed the trigger)
        return None, None
    queue = subscription.queue
    now = timezone.now()
    with transaction.atomic():
        _move_to_dead_letter(queue, now)
    visible = queue.messages.filter(visible_at__lte=now).order_by("sent", "id")
    ids = list(visible.values_list("pk", flat=True)[: subscription.batch_size])
    if not ids:
        return None, None
    if len(ids) < subscription.batch_size and subscription.batch_window_s > 0:
        window_started = window_started or now
        if (now - window_started).total_seconds() < subscription.batch_window_s:
            return None, window_started
    receipt = uuid.uuid4().hex
    QueueMessage.objects.filter(pk__in=ids, visible_at__lte=now).update(
        receipt=receipt,
        receive_count=F("receive_count") + 1,
        visible_at=now + timedelta(seconds=queue.visibility_timeout_s),
    )
    QueueMessage.objects.filter(receipt=receipt, first_received=None).update(first_received=now)
    messages = list(QueueMessage.objects.filter(receipt=receipt).order_by("sent", "id"))
    return (subscription, messages, receipt), None


def build_event(queue, messages):
    records = []
    for message in messages:
        record = events.sqs_record(
            message.body,
            queue=queue.name,
            message_id=str(message.message_id),
            receive_count=message.receive_count,
            sent_ms=int(message.sent.timestamp() * 1000),
            attributes=message.attributes,
        )
        record["attributes"]["ApproximateFirstReceiveTimestamp"] = str(
            int((message.first_received or timezone.now()).timestamp() * 1000)
        )
        records.append(record)
    return {"Records": records}


def failed_ids(result, message_ids):
    """The message ids to keep after a successful invocation, per the partial batch response.
    An unusable response fails the whole batch, as Lambda does."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return set()
    failures = result["batchItemFailures"]
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    keep = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        keep.add(identifier)
    return keep


@in_db_thread(writes=True)
def _delete(receipt, message_ids):
    QueueMessage.objects.filter(receipt=receipt, message_id__in=list(message_ids)).delete()


async def deliver(subscription, messages, receipt):
    queue = subscription.queue
    event = build_event(queue, messages)
    invocation = await start_invocation(
        subscription.function,
        json.dumps(event, ensure_ascii=False),
        trigger="sqs",
        qualifier=subscription.qualifier,
    )
    invocation = await wait_until_finished(invocation)
    ids = {str(m.message_id) for m in messages}
    if invocation.status != Invocation.OK:
        return  # the whole batch comes back after its visibility timeout
    keep = failed_ids(invocation.result, ids) if subscription.report_batch_item_failures else set()
    await _delete(receipt, ids - keep)


@in_db_thread
def _subscriptions():
    enabled = QueueSubscription.objects.filter(enabled=True).exclude(function__reserved_concurrency=0)
    return list(enabled.values_list("pk", flat=True))


async def poll_once(busy, windows):
    """One pass over the subscriptions; one batch in flight per subscription. True when
    something is moving (a batch sent, or a batching window open)."""
    moving = False
    for pk in await _subscriptions():
        if pk in busy:
            moving = True
            continue
        claimed, windows[pk] = await _receive(pk, windows.get(pk))
        moving = moving or windows[pk] is not None or claimed is not None
        if claimed is None:
            continue
        subscription, messages, receipt = claimed

        async def run(subscription=subscription, messages=messages, receipt=receipt, pk=pk):
            try:
                await deliver(subscription, messages, receipt)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("queue delivery failed; the messages return after their visibility timeout")
            finally:
                busy.discard(pk)

        busy.add(pk)
        worker.spawn(run())
    return moving


async def run_forever():
    busy, windows = set(), {}
    while True:
        moving = False
        try:
            moving = await poll_once(busy, windows)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("queue poller failed; continuing")
        await asyncio.sleep(POLL_SECONDS if moving else IDLE_POLL_SECONDS)


def create_queue(owner, name, visibility_timeout_s=30, max_receive_count=3, dead_letter_queue=None):
    validate_name(name)
    if Queue.objects.filter(name=name).exists():
        raise QueueError(f"A queue named {name!r} already exists.")
    if not 0 <= float(visibility_timeout_s) <= 43200:
        raise QueueError("The visibility timeout is 0 to 43 200 seconds (12 hours).")
    if not 1 <= int(max_receive_count) <= 1000:
        raise QueueError("maxReceiveCount is 1 to 1 000.")
    return Queue.objects.create(
        owner=owner,
        name=name,
        visibility_timeout_s=float(visibility_timeout_s),
        max_receive_count=int(max_receive_count),
        dead_letter_queue=dead_letter_queue,
    )


def get_queue(user, name):
    """The user's own queue by name, or QueueError saying why not."""
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise QueueError(f"The queue {name!r} does not exist.")
    if queue.owner_id != user.id:
        raise QueueError(f"The queue {name!r} belongs to someone else.")
    return queue


def subscribe(queue, function, batch_size, batch_window_s, report_batch_item_failures, qualifier=""):
    QueueSubscription.objects.update_or_create(
        queue=queue,
        function=function,
        defaults={
            "batch_size": batch_size,
            "batch_window_s": batch_window_s,
            "report_batch_item_failures": report_batch_item_failures,
            "enabled": True,
            "qualifier": check_binding(function, qualifier),
        },
    )


def purge(queue):
    """Delete every message of the queue; returns how many."""
    count, _ = QueueMessage.objects.filter(queue=queue).delete()
    return count


def redrive(queue):
    """Move a dead-letter queue's messages back to the queues (of the same owner) they came
    from, as new: receive count 0. Returns how many moved."""
    moved = 0
    for message in queue.messages.exclude(moved_from=""):
        source = Queue.objects.filter(name=message.moved_from, owner_id=queue.owner_id).first()
        if source is not None:
            QueueMessage.objects.filter(pk=message.pk).update(queue=source, moved_from="", receive_count=0)
            moved += 1
    return moved
