"""What is kept, and for how long (settings.STORAGE): pruning by age and by each learner's quota.

Run by the sandbox worker every PRUNE_INTERVAL_S (settings.WORKER_BACKGROUND) and by
`manage.py prune_storage`. Deleting is idempotent, so several workers may run it at once.
Quotas that refuse a write (bucket objects, queue messages) are checked where the write happens
(triggers/buckets.py, triggers/queues.py); the invocation history, written by the worker as
invocations finish, is trimmed here to each learner's newest HISTORY_PER_LEARNER records.
"""

import asyncio
import contextvars
import logging
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from sandbox.models import Invocation

from .models import AsyncEvent, BucketObject, QueueMessage

log = logging.getLogger(__name__)


def _days(n):
    return timedelta(days=n)


def _trim_history(keep):
    """Delete each learner's finished invocation records past their newest `keep`."""
    deleted = 0
    over = (
        Invocation.objects.values("function__owner_id")
        .annotate(n=Count("id"))
        .filter(n__gt=keep)
        .values_list("function__owner_id", flat=True)
    )
    for owner_id in list(over):
        mine = Invocation.objects.filter(function__owner_id=owner_id)
        last_kept = mine.order_by("-created", "-id").values("created", "id")[keep - 1]
        older = Q(created__lt=last_kept["created"]) | Q(created=last_kept["created"], id__lt=last_kept["id"])
        deleted += mine.filter(older, status__in=Invocation.FINISHED).delete()[1].get("sandbox.Invocation", 0)
    return deleted


def prune(now=None):
    """Delete what is past its age or its learner's quota; how many of each were deleted."""
    limits = settings.STORAGE
    now = now or timezone.now()
    history_cutoff = now - _days(limits["HISTORY_MAX_AGE_DAYS"])
    old_history = Invocation.objects.filter(created__lt=history_cutoff, status__in=Invocation.FINISHED)
    counts = {"invocations": old_history.delete()[1].get("sandbox.Invocation", 0)}
    counts["invocations"] += _trim_history(limits["HISTORY_PER_LEARNER"])
    finished_events = AsyncEvent.objects.filter(
        status__in=[AsyncEvent.SUCCEEDED, AsyncEvent.DEAD], created__lt=history_cutoff
    )
    counts["async_events"] = finished_events.delete()[0]
    message_cutoff = now - _days(limits["QUEUE_MESSAGE_MAX_AGE_DAYS"])
    counts["queue_messages"] = QueueMessage.objects.filter(sent__lt=message_cutoff).delete()[0]
    object_cutoff = now - _days(limits["BUCKET_OBJECT_MAX_AGE_DAYS"])
    counts["bucket_objects"] = BucketObject.objects.filter(modified__lt=object_cutoff).delete()[0]
    return counts


async def _prune_forever():
    while True:
        try:
            counts = await sync_to_async(prune)()
            if any(counts.values()):
                log.info("pruned stored data: %s", counts)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pruning stored data failed; trying again later")
        await asyncio.sleep(settings.STORAGE["PRUNE_INTERVAL_S"])


async def run_forever():
    # A fresh context, as in triggers/loops.py: the embedded worker may start inside a request.
    task = asyncio.get_running_loop().create_task(_prune_forever(), context=contextvars.Context())
    try:
        await task
    finally:
        task.cancel()
