"""Asynchronous invocation (`InvocationType: Event`): accepted at once, stored, executed by the
worker's background loop, retried on function errors, dead-lettered when retries run out.

Lambda's rules, scaled by settings.TIMER_SCALE:
- function errors (error, timeout, out of memory, crash) are retried twice: 1 minute after the
  first failure, 2 minutes after the second;
- throttles and lost workers are retried (backing off) without using up an attempt, until the
  maximum event age (6 hours by default);
- an event older than its maximum age is not run again: it goes to the dead-letter list.

Delivery is at least once: if the worker dies while an attempt runs, the event's lease expires
and another attempt starts, so a handler can see the same event (same request id) twice.
"""

import asyncio
import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox import worker
from sandbox.db_threads import in_db_thread
from sandbox.models import Invocation
from sandbox.versions import VersionsError
from sandbox.worker import create_invocation, send_to_worker, start_invocation, wait_until_finished

from .models import AsyncEvent

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1  # while events are due
IDLE_POLL_SECONDS = 0.5  # when the last pass found none: the database is not asked 10 times a second
MAX_IN_FLIGHT = 32
FUNCTION_ERRORS = (Invocation.ERROR, Invocation.TIMEOUT, Invocation.OOM, Invocation.CRASHED)


def retry_delays():
    """Seconds before retry 1 and retry 2 (Lambda: 60 and 120), scaled."""
    base = getattr(settings, "ASYNC_RETRY_DELAYS_S", (60.0, 120.0))
    return [delay * settings.TIMER_SCALE for delay in base]


def max_event_age_s():
    return getattr(settings, "ASYNC_MAX_EVENT_AGE_S", 6 * 3600.0) * settings.TIMER_SCALE


def throttle_backoff_s(attempt):
    return min(60.0, 1.0 * 2 ** min(attempt, 6)) * settings.TIMER_SCALE


def enqueue(function, event_json, trigger="api", qualifier=""):
    """Store the event and its first (queued) Invocation row; the request id is shared, so the
    caller can look the invocation up at once. `qualifier` (a version or alias) is resolved
    again on every attempt. Returns the AsyncEvent; raises sandbox.versions.VersionsError when
    the qualifier names nothing."""
    with transaction.atomic():
        event = AsyncEvent.objects.create(
            function=function,
            event=event_json,
            trigger=trigger,
            qualifier=qualifier,
            max_age_s=max_event_age_s(),
        )
        invocation = create_invocation(function, event_json, trigger, qualifier, request_id=event.request_id)
        AsyncEvent.objects.filter(pk=event.pk).update(last_invocation=invocation)
        transaction.on_commit(_nudge)
    return event


# ---------------------------------------------------------------- the loop
@in_db_thread  # mostly a read: an idle poll does not queue behind writes
def _claim_due(limit):
    now = timezone.now()
    due = AsyncEvent.objects.filter(status=AsyncEvent.PENDING, next_attempt_at__lte=now) | (
        AsyncEvent.objects.filter(status=AsyncEvent.RUNNING, lease_until__lt=now)
    )
    claimed = []
    for event in due.select_related("function").order_by("next_attempt_at")[:limit]:
        lease = now + timedelta(seconds=event.function.timeout_s + settings.SANDBOX["INIT_TIMEOUT_S"] + 60)
        won = AsyncEvent.objects.filter(
            pk=event.pk, status=event.status, lease_until=event.lease_until
        ).update(status=AsyncEvent.RUNNING, lease_until=lease)
        if won:
            claimed.append(event.pk)
    return claimed


@in_db_thread
def _load(pk):
    return AsyncEvent.objects.select_related("function", "last_invocation__function").get(pk=pk)


@in_db_thread(writes=True)
def _save(pk, **fields):
    AsyncEvent.objects.filter(pk=pk).update(**fields)


async def _dispatch(event):
    """The invocation of this attempt: the prepared first one, the one a lost worker left, or a
    new one. Returns the Invocation (maybe already finished)."""
    invocation = event.last_invocation
    if invocation is not None and event.attempts == 0 and invocation.status == Invocation.QUEUED:
        await send_to_worker(invocation)
        await _save(event.pk, attempts=1)
        event.attempts = 1
        return invocation
    if invocation is not None and event.attempts > 0:
        return invocation  # a lease expired: look at (or wait for) what the last attempt did
    trigger = event.trigger if event.attempts == 0 else f"{event.trigger} (retry {event.attempts})"
    invocation = await start_invocation(
        event.function, event.event, trigger=trigger[:32], qualifier=event.qualifier
    )
    event.attempts += 1
    await _save(event.pk, attempts=event.attempts, last_invocation=invocation)
    return invocation


async def run_event(pk):
    event = await _load(pk)
    now = timezone.now()
    age = (now - event.created).total_seconds()
    if age > event.max_age_s:
        await _dead(event, f"The event is older than the maximum event age ({event.max_age_s:g} s).")
        return
    try:
        invocation = await _dispatch(event)
    except VersionsError as exc:  # the alias or version it was sent to no longer exists
        await _dead(event, exc.message, error={"errorType": exc.code, "errorMessage": exc.message})
        return
    if not invocation.is_finished:
        invocation = await wait_until_finished(invocation)
    await _settle(event, invocation)


async def _settle(event, invocation):
    now = timezone.now()
    status = invocation.status
    if status == Invocation.OK:
        await _save(event.pk, status=AsyncEvent.SUCCEEDED, last_status=status, finished=now, lease_until=None)
        return
    if not invocation.is_finished:  # still running after the wait: keep the lease, look later
        await _save(event.pk, status=AsyncEvent.PENDING, next_attempt_at=now + timedelta(seconds=1))
        return
    error = invocation.error or {"errorMessage": invocation.failure_reason or status}
    if status in FUNCTION_ERRORS:
        retries_done = event.attempts - 1
        if retries_done >= min(event.max_retries, len(retry_delays())):
            await _dead(
                event,
                f"The function failed on all {event.attempts} attempt(s) ({status}).",
                error=error,
                last_status=status,
            )
            return
        delay = retry_delays()[retries_done]
    else:  # throttled or the worker was lost: retried without using up an attempt
        delay = throttle_backoff_s(event.attempts)
        event.attempts -= 1
    next_at = now + timedelta(seconds=delay)
    if (next_at - event.created).total_seconds() > event.max_age_s:
        await _dead(
            event,
            f"The next retry would pass the maximum event age ({event.max_age_s:g} s); "
            f"last outcome: {status}.",
            error=error,
            last_status=status,
        )
        return
    await _save(
        event.pk,
        status=AsyncEvent.PENDING,
        attempts=event.attempts,
        next_attempt_at=next_at,
        last_error=error,
        last_status=status,
        last_invocation=None,
        lease_until=None,
    )


async def _dead(event, reason, error=None, last_status=""):
    await _save(
        event.pk,
        status=AsyncEvent.DEAD,
        dead_reason=reason[:300],
        last_error=error if error is not None else event.last_error,
        last_status=last_status or event.last_status,
        finished=timezone.now(),
        lease_until=None,
    )


@in_db_thread(writes=True)
def _forget_old_successes():
    """Succeeded events are kept an hour (the Invocation rows stay); dead ones until cleared."""
    cutoff = timezone.now() - timedelta(hours=1)
    AsyncEvent.objects.filter(status=AsyncEvent.SUCCEEDED, finished__lt=cutoff).delete()


_wakeups = {}  # event loop -> the Event its async-invoke loop waits on between idle polls


def _nudge():
    """A new event was stored: this process's loop (the embedded worker's) looks at once
    instead of at its next idle poll. External workers find it at their next poll."""
    for loop, wake in list(_wakeups.items()):
        if loop.is_closed():
            _wakeups.pop(loop, None)
        else:
            loop.call_soon_threadsafe(wake.set)


async def run_forever():
    running = set()
    passes = 0
    wake = _wakeups[asyncio.get_running_loop()] = asyncio.Event()
    while True:
        wake.clear()
        passes += 1
        claimed = []
        try:
            if passes % 600 == 1:
                await _forget_old_successes()
            free = MAX_IN_FLIGHT - len(running)
            if free > 0:
                claimed = await _claim_due(free)
                for pk in claimed:
                    task = worker.spawn(_guarded(pk))
                    running.add(task)
                    task.add_done_callback(running.discard)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("async invoke loop failed; continuing")
        if claimed:
            await asyncio.sleep(POLL_SECONDS)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), IDLE_POLL_SECONDS)


async def _guarded(pk):
    try:
        await run_event(pk)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("async event %s failed in the loop; it will be retried when its lease expires", pk)
