"""Handing invocations to the sandbox worker, and noticing when one never finishes.

The web process only validates, dispatches, relays and renders: it never runs learner code.
"""

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from sandbox.engine.invocation import event_text
from sandbox.models import Invocation
from sandbox.versions import resolve
from sandbox.worker.channels import invocation_group, worker_channel
from sandbox.worker.embedded import ensure_embedded_worker
from sandbox.worker.store import fail_stale_invocations


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
    """Create the Invocation row (queued) and send it to the worker that holds the pool.

    With `channel_name`, that channel joins the invocation's group before the worker starts,
    so not one log line is missed. Raises sandbox.versions.VersionsError for an unknown qualifier.
    `priority` "check" puts it ahead of other traffic in the pool's admission (a lesson's Check).
    """
    invocation = await sync_to_async(create_invocation)(function, event_json, trigger, qualifier)
    if channel_name:
        await get_channel_layer().group_add(invocation_group(invocation.request_id), channel_name)
    await send_to_worker(invocation, priority)
    return invocation


async def send_to_worker(invocation, priority=None):
    """Hand a queued invocation to the worker that holds its function's pool."""
    ensure_embedded_worker()
    message = {"type": "invoke", "request_id": str(invocation.request_id)}
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
    """Wait for the invocation to finish (API and no-JS paths). Returns the saved Invocation."""
    layer = channel_layer or get_channel_layer()
    own_channel = channel_name is None
    if own_channel:
        channel_name = await layer.new_channel()
        await layer.group_add(invocation_group(invocation.request_id), channel_name)
    deadline = (
        asyncio.get_running_loop().time()
        + await _timeout_of(invocation)
        + settings.SANDBOX["INIT_TIMEOUT_S"]
        + extra_seconds
    )
    try:
        current = await _reload(invocation.pk)
        while not current.is_finished:
            if asyncio.get_running_loop().time() > deadline:
                await sync_to_async(fail_stale_invocations)(current.function_id)
                return await _reload(invocation.pk)
            try:
                message = await asyncio.wait_for(layer.receive(channel_name), 1.0)
            except TimeoutError:
                await sync_to_async(fail_stale_invocations)(current.function_id)
                current = await _reload(invocation.pk)
                continue
            if message.get("type") == "invocation.done":
                current = await _reload(invocation.pk)
        return current
    finally:
        if own_channel:
            await layer.group_discard(invocation_group(invocation.request_id), channel_name)


@sync_to_async
def _timeout_of(invocation):
    """The timeout of the version the invocation runs (a published one may differ from $LATEST)."""
    function = invocation.function
    if invocation.executed_version == "$LATEST":
        return function.timeout_s
    version = function.versions.filter(number=int(invocation.executed_version)).first()
    return version.timeout_s if version else function.timeout_s


@sync_to_async
def _reload(pk):
    return Invocation.objects.select_related("function").get(pk=pk)
