"""Handing invocations to the sandbox worker, and noticing when one never finishes.

The web process only validates, dispatches, relays and renders: it never runs learner code.
"""

import asyncio
import copy

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sandbox.db_threads import in_db_thread
from sandbox.engine.invocation import event_text
from sandbox.models import Invocation
from sandbox.versions import resolve
from sandbox.worker.channels import done_group, invocation_group, worker_channel
from sandbox.worker.embedded import ensure_embedded_worker
from sandbox.worker.state import state
from sandbox.worker.store import WORKER_ID, finish_failed
from sandbox.worker.sweeper import stale_sweeping


def validate_event(raw):
    """JSON text of the event, or InvalidEvent / PayloadTooLarge with a clear message."""
    return event_text(raw, settings.SANDBOX["PAYLOAD_BYTES"])


def create_invocation(function, event_json, trigger, qualifier="", **fields):
    """The queued Invocation row, with the version it runs: `qualifier` ("" = $LATEST, a version
    number or an alias) is resolved now, an alias's weighted routing drawing once. Raises
    sandbox.versions.VersionsError (NotFound, Invalid) when the qualifier names nothing."""
    target = resolve(function, qualifier)
    return Invocation.objects.create(
        function=function,
        event=event_json,
        trigger=trigger,
        qualifier=target.qualifier,
        executed_version=target.executed_version,
        memory_size_mb=(target.version or function).memory_mb,
        **fields,
    )


async def start_invocation(
    function, event_json, trigger="console", channel_name=None, qualifier="", priority=None
):
    """Create the Invocation row and send it to the worker that holds the pool.

    With `channel_name`, that channel joins the invocation's group before the worker starts,
    so not one log line is missed. Raises sandbox.versions.VersionsError for an unknown qualifier.
    `priority` "check" puts it ahead of other traffic in the pool's admission (a lesson's Check).
    """
    # With the embedded worker the message cannot be read by another worker: the row is
    # inserted as this process's claim (one write, no claim UPDATE). Its heartbeat is this
    # process's, so a crash still fails it.
    embedded = settings.SANDBOX_WORKER == "embedded"
    claimed = {"status": Invocation.RUNNING, "worker_id": WORKER_ID, "started": timezone.now()}
    invocation = await _create(function, event_json, trigger, qualifier, claimed if embedded else {})
    try:
        if channel_name:
            await get_channel_layer().group_add(invocation_group(invocation.request_id), channel_name)
        # Log lines are streamed to a page that follows the invocation; console invocations
        # too, as a playground page that reconnects resumes them.
        quiet = channel_name is None and trigger != "console"
        await send_to_worker(invocation, claimed=embedded, quiet=quiet, priority=priority)
    except Exception as exc:  # e.g. a full channel layer: the row must not stay running
        await finish_failed(str(invocation.request_id), exc)
        raise
    return invocation


@in_db_thread(writes=True)
def _create(function, event_json, trigger, qualifier, fields):
    return create_invocation(function, event_json, trigger, qualifier, **fields)


async def send_to_worker(invocation, claimed=False, quiet=False, priority=None):
    """Hand an invocation to the worker that holds its function's pool (`claimed`: the row was
    inserted as running by this process, the embedded worker's; `quiet`: nobody follows its
    log lines, so the worker does not send them; `priority` "check": see start_invocation)."""
    ensure_embedded_worker()
    message = {"type": "invoke", "request_id": str(invocation.request_id)}
    if claimed:
        message["claimed"] = True
    if quiet:
        message["quiet"] = True
    if priority:
        message["priority"] = priority
    await get_channel_layer().send(worker_channel(invocation.function_id), message)


async def configure_function(function):
    """Tell the worker holding the function's pool that its concurrency settings changed."""
    ensure_embedded_worker()
    await get_channel_layer().send(
        worker_channel(function.id), {"type": "configure", "function_id": function.id}
    )


async def start_load_test(load_test):
    ensure_embedded_worker()
    await get_channel_layer().send(
        worker_channel(load_test.function_id), {"type": "loadtest.start", "load_test_id": load_test.pk}
    )


async def start_power_tuning(tuning):
    ensure_embedded_worker()
    await get_channel_layer().send(
        worker_channel(tuning.function_id), {"type": "tuning.start", "tuning_id": tuning.pk}
    )


async def reset_environments(function):
    ensure_embedded_worker()
    await get_channel_layer().send(worker_channel(function.id), {"type": "reset", "function_id": function.id})


async def wait_until_finished(invocation, channel_layer=None, channel_name=None, extra_seconds=15):
    """Wait for the invocation to finish (API, Check, triggers, no-JS paths). Returns the saved
    Invocation.

    The worker says "invocation.done" to the invocation's groups when it has saved the end, with
    the saved columns (the row is not read back); so does this process's stale sweeper when it
    fails an invocation whose worker was lost. The row is read every few seconds only in case a
    message was lost."""
    layer = channel_layer or get_channel_layer()
    own_channel = channel_name is None
    if own_channel:  # it waits for the end only: no log batches wake it
        channel_name = await layer.new_channel()
        await layer.group_add(done_group(invocation.request_id), channel_name)
    loop = asyncio.get_running_loop()
    limit = await _timeout_of(invocation) + settings.SANDBOX["INIT_TIMEOUT_S"] + extra_seconds
    deadline = loop.time() + limit
    try:
        async with stale_sweeping():
            current = invocation
            if own_channel:  # it may have ended before this channel joined the done group
                current = await _ended_already(invocation)
            while not current.is_finished and loop.time() < deadline:
                try:
                    message = await asyncio.wait_for(
                        layer.receive(channel_name), min(RELOAD_SECONDS, max(0.01, deadline - loop.time()))
                    )
                except TimeoutError:
                    current = await _reload(invocation.pk)
                    continue
                if message.get("type") == "invocation.done" and message.get("request_id") == str(
                    invocation.request_id
                ):
                    row = message.get("row")
                    current = _ended(invocation, row) if row else await _reload(invocation.pk)
            if not current.is_finished:
                current = await _reload(invocation.pk)
        return current
    finally:
        if own_channel:
            await layer.group_discard(done_group(invocation.request_id), channel_name)


RELOAD_SECONDS = 5.0  # a safety net only: the done message normally wakes the waiter


async def _ended_already(invocation):
    """The invocation as saved if it has ended; the embedded worker (this process) remembers
    its recent ends, so a waiter reads nothing back."""
    if settings.SANDBOX_WORKER != "embedded":
        return await _reload(invocation.pk)
    ended, row = state.recent_end(str(invocation.request_id))
    if not ended:
        return invocation
    return _ended(invocation, row) if row else await _reload(invocation.pk)


def _ended(invocation, row):
    """The invocation as the worker saved it, from the columns its done message carried."""
    ended = copy.copy(invocation)
    for name, value in row.items():
        setattr(ended, name, value)
    ended.finished = parse_datetime(row["finished"])
    return ended


async def _timeout_of(invocation):
    """The timeout of the version the invocation runs (a published one may differ from $LATEST)."""
    if invocation.executed_version == "$LATEST":
        return invocation.function.timeout_s
    return await _version_timeout(invocation)


@in_db_thread
def _version_timeout(invocation):
    function = invocation.function
    version = function.versions.filter(number=int(invocation.executed_version)).first()
    return version.timeout_s if version else function.timeout_s


@in_db_thread
def _reload(pk):
    return Invocation.objects.select_related("function").get(pk=pk)
