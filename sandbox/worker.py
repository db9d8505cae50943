"""The sandbox worker: a Channels consumer on the "sandbox" channel that owns the pools.

Embedded default: it runs inside the web process (started on first use). With REDIS_URL set,
run it separately: `python manage.py runworker sandbox`. It never renders anything; it runs
invocations, streams their log lines to the group "invocation.<request id>" in batches, saves
each invocation as it finishes, and touches a heartbeat so a dead worker is noticed.
"""

import asyncio
import logging
import os
import socket

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from .engine import get_engine
from .logbatch import LogBatcher
from .models import Function, Invocation, WorkerHeartbeat
from .pool import FunctionPool
from .slots import NoSlotAvailable
from .specs import function_spec, spec_version

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class WorkerState:
    """Pools of this worker process, keyed by function id (one version each)."""

    def __init__(self):
        self.pools = {}  # function id -> (version, FunctionPool)
        self.tasks = set()
        self.heartbeat_task = None

    def pool_for(self, function_id, spec):
        version = spec_version(spec)
        current = self.pools.get(function_id)
        if current and current[0] == version:
            return current[1]
        if current:
            current[1].close()  # the code or configuration changed: old environments go
        pool = FunctionPool(get_engine(), spec)
        self.pools[function_id] = (version, pool)
        return pool

    def reset(self, function_id):
        current = self.pools.get(function_id)
        return current[1].reset() if current else 0


state = WorkerState()


@sync_to_async
def _claim(request_id):
    """Mark the invocation running on this worker; None if it is gone or already taken."""
    updated = Invocation.objects.filter(request_id=request_id, status=Invocation.QUEUED).update(
        status=Invocation.RUNNING, worker_id=WORKER_ID
    )
    if not updated:
        return None
    invocation = Invocation.objects.select_related("function").get(request_id=request_id)
    return invocation


@sync_to_async
def _save_partial_logs(request_id, lines):
    Invocation.objects.filter(request_id=request_id, status=Invocation.RUNNING).update(
        logs=_cap("\n".join(lines))[0]
    )


def _cap(text):
    limit = settings.SANDBOX["OUTPUT_CAP_BYTES"] + 64 * 1024
    if len(text) <= limit:
        return text, False
    return text[:limit], True


@sync_to_async
def _finish(request_id, record=None, status=None, error=None, reason=""):
    invocation = Invocation.objects.get(request_id=request_id)
    if record is not None:
        for field in (
            "status",
            "cold",
            "init_duration_ms",
            "duration_ms",
            "billed_duration_ms",
            "memory_size_mb",
            "max_memory_used_mb",
            "gb_seconds",
            "cost_usd",
            "result",
            "error",
        ):
            setattr(invocation, field, getattr(record, field))
        invocation.logs, invocation.logs_truncated = _cap("\n".join(record.logs))
    else:
        invocation.status = status
        invocation.error = error
        invocation.failure_reason = reason
    invocation.finished = timezone.now()
    invocation.save()
    return invocation


@sync_to_async
def _beat():
    WorkerHeartbeat.objects.update_or_create(worker_id=WORKER_ID, defaults={"last_seen": timezone.now()})


async def _heartbeat_forever():
    while True:
        try:
            await _beat()
        except Exception:
            log.exception("worker heartbeat failed")
        await asyncio.sleep(HEARTBEAT_SECONDS)


def throttle_error(reason, message):
    return {
        "errorType": "TooManyRequestsException",
        "errorMessage": message,
        "Reason": reason,
        "stackTrace": [],
    }


async def run_one(request_id, layer):
    from .channels_names import invocation_group

    invocation = await _claim(request_id)
    if invocation is None:
        return
    group = invocation_group(request_id)
    spec = await sync_to_async(function_spec)(invocation.function)
    pool = state.pool_for(invocation.function_id, spec)

    async def send(start, lines):
        await layer.group_send(
            group, {"type": "invocation.logs", "request_id": request_id, "start": start, "lines": lines}
        )

    batcher = LogBatcher(send)
    saver = asyncio.ensure_future(_save_logs_periodically(request_id, batcher))
    try:
        record = await pool.invoke(invocation.event, on_log=batcher.add, request_id=request_id)
    except NoSlotAvailable as exc:
        record = None
        error = throttle_error("ConcurrentInvocationLimitExceeded", str(exc))
        await _finish(request_id, status=Invocation.THROTTLED, error=error, reason=str(exc))
    except Exception as exc:
        log.exception("invocation %s failed in the worker", request_id)
        record = None
        await _finish(
            request_id,
            status=Invocation.FAILED,
            error={"errorType": "Coldstart.WorkerError", "errorMessage": str(exc)},
            reason=f"the sandbox worker failed: {exc}",
        )
    finally:
        saver.cancel()
        await batcher.close()
    if record is not None:
        await _finish(request_id, record=record)
    await layer.group_send(group, {"type": "invocation.done", "request_id": request_id})


async def _save_logs_periodically(request_id, batcher):
    """So a page reloaded mid-invocation can show what was logged so far."""
    while True:
        await asyncio.sleep(0.5)
        await _save_partial_logs(request_id, list(batcher.lines))


class SandboxWorker(AsyncConsumer):
    async def invoke(self, message):
        if state.heartbeat_task is None or state.heartbeat_task.done():
            state.heartbeat_task = asyncio.ensure_future(_heartbeat_forever())
        task = asyncio.ensure_future(run_one(message["request_id"], self.channel_layer))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    async def reset(self, message):
        state.reset(message["function_id"])


_embedded = {}


def ensure_embedded_worker():
    """Start the worker inside this process's event loop, once (the embedded default)."""
    if settings.SANDBOX_WORKER != "embedded":
        return
    loop = asyncio.get_running_loop()
    if _embedded.get("loop") is loop and not _embedded["task"].done():
        return
    from channels.routing import ChannelNameRouter
    from channels.worker import Worker

    from .channels_names import all_worker_channels

    channels = all_worker_channels()
    router = ChannelNameRouter({name: SandboxWorker.as_asgi() for name in channels})
    worker = Worker(application=router, channels=channels, channel_layer=get_channel_layer())
    _embedded["task"] = loop.create_task(worker.arun())
    _embedded["loop"] = loop
    state.heartbeat_task = asyncio.ensure_future(_heartbeat_forever())
    log.info("embedded sandbox worker started on %s", ", ".join(channels))


__all__ = ["SandboxWorker", "ensure_embedded_worker", "Function"]
