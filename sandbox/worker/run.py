"""The sandbox worker: a Channels consumer on the "sandbox" channel that owns the pools.

Embedded default: it runs inside the web process (started on first use). With REDIS_URL set,
run it separately: `python manage.py runworker sandbox`. It never renders anything; it runs
invocations, streams their log lines to the group "invocation.<request id>" in batches, saves
each invocation as it finishes, records environment lifecycles for the scaling timeline, runs
load tests, reclaims idle environments, and touches a heartbeat so a dead worker is noticed.
"""

import asyncio
import atexit
import logging
import os
import socket

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .channels_names import function_group, invocation_group
from .engine import get_engine
from .logbatch import LogBatcher
from .models import EnvironmentRecord, Function, Invocation, LoadTest, WorkerHeartbeat
from .pool import Account, AccountLimits, FunctionPool, Throttled
from .specs import function_spec, spec_version

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
REAP_SECONDS = 1.0
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def account_limits():
    s = settings.SCALING
    return AccountLimits(
        concurrency=s["ACCOUNT_CONCURRENCY"],
        scale_per_10s=s["SCALE_PER_10S"],
        learner_concurrency=s["LEARNER_CONCURRENCY"],
        learner_per_minute=s["LEARNER_PER_MINUTE"],
        idle_ttl_s=s["IDLE_TTL_S"],
    )


class WorkerState:
    """Pools of this worker process, keyed by function id (one version each)."""

    def __init__(self):
        self.pools = {}  # function id -> (version, FunctionPool)
        self.account = None
        self.tasks = set()
        self.background = []
        self.exit_hook = False

    def get_account(self):
        if self.account is None:
            self.account = Account(account_limits(), on_event=_record_environment_event)
        return self.account

    def pool_for(self, function, spec):
        version = spec_version(spec)
        current = self.pools.get(function.id)
        if current and current[0] == version:
            pool = current[1]
        else:
            if current:
                current[1].close()  # the code or configuration changed: old environments go
            pool = FunctionPool(
                get_engine(), spec, self.get_account(), key=function.id, owner=function.owner_id
            )
            self.pools[function.id] = (version, pool)
        configure(pool, function)
        return pool

    def reset(self, function_id):
        current = self.pools.get(function_id)
        return current[1].reset() if current else 0

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def close_all(self):
        """Destroy every environment, busy ones included (the process is going away)."""
        for _, pool in self.pools.values():
            pool.close()
            for slot in list(pool.slots):
                slot.environment.destroy()
        self.pools.clear()


state = WorkerState()


def configure(pool, function):
    pool.reserved = function.reserved_concurrency
    if pool.provisioned_target != function.provisioned_concurrency:
        pool.set_provisioned(function.provisioned_concurrency)


# ------------------------------------------------------------------ database side
@sync_to_async
def _claim(request_id):
    """Mark the invocation running on this worker; None if it is gone or already taken."""
    updated = Invocation.objects.filter(request_id=request_id, status=Invocation.QUEUED).update(
        status=Invocation.RUNNING, worker_id=WORKER_ID, started=timezone.now()
    )
    if not updated:
        return None
    return Invocation.objects.select_related("function").get(request_id=request_id)


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
def _finish(request_id, record=None, placement=None, status=None, error=None, reason=""):
    invocation = Invocation.objects.get(request_id=request_id)
    if record is not None:
        for name in (
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
            setattr(invocation, name, getattr(record, name))
        invocation.logs, invocation.logs_truncated = _cap("\n".join(record.logs))
        invocation.environment_name = placement.environment or ""
        invocation.provisioned = placement.provisioned
    else:
        invocation.status = status
        invocation.error = error
        invocation.failure_reason = reason
    invocation.finished = timezone.now()
    invocation.save()
    return invocation


@sync_to_async
def _load_function(function_id):
    return Function.objects.filter(pk=function_id).first()


@sync_to_async
def _beat():
    WorkerHeartbeat.objects.update_or_create(worker_id=WORKER_ID, defaults={"last_seen": timezone.now()})


def _record_environment_event(kind, pool, environment=None, **data):
    """Account events -> EnvironmentRecord rows (written off the event loop, in order)."""
    if pool.key is None or environment is None:
        return
    now = timezone.now()

    def write():
        if kind == "environment_started":
            EnvironmentRecord.objects.create(
                function_id=pool.key,
                name=environment.name,
                provisioned=data.get("provisioned", False),
                started=now,
            )
        elif kind == "environment_ready":
            EnvironmentRecord.objects.filter(function_id=pool.key, name=environment.name).update(ready=now)
        elif kind == "environment_ended":
            EnvironmentRecord.objects.filter(function_id=pool.key, name=environment.name, ended=None).update(
                ended=now, end_reason=data.get("reason", "")
            )

    state.spawn(_serialised_write(write))


_write_lock = None


async def _serialised_write(write):
    global _write_lock
    if _write_lock is None:
        _write_lock = asyncio.Lock()
    async with _write_lock:
        try:
            await sync_to_async(write)()
        except Exception:
            log.exception("could not record an environment event")


# ------------------------------------------------------------------ running invocations
async def run_one(request_id, layer):
    """Run one invocation; whatever goes wrong, it ends saved as something other than running."""
    try:
        await _run_one(request_id, layer)
    except Exception as exc:
        log.exception("invocation %s failed in the worker", request_id)
        await _finish(
            request_id,
            status=Invocation.FAILED,
            error={"errorType": "Coldstart.WorkerError", "errorMessage": str(exc), "stackTrace": []},
            reason=f"the sandbox worker failed: {exc}",
        )
        await layer.group_send(
            invocation_group(request_id), {"type": "invocation.done", "request_id": request_id}
        )


async def _run_one(request_id, layer):
    invocation = await _claim(request_id)
    if invocation is None:
        return
    group = invocation_group(request_id)
    function = invocation.function
    spec = await sync_to_async(function_spec)(function)
    pool = state.pool_for(function, spec)

    async def send(start, lines):
        await layer.group_send(
            group, {"type": "invocation.logs", "request_id": request_id, "start": start, "lines": lines}
        )

    batcher = LogBatcher(send)
    saver = asyncio.ensure_future(_save_logs_periodically(request_id, batcher))
    record = placement = None
    try:
        record, placement = await pool.invoke(invocation.event, on_log=batcher.add, request_id=request_id)
    except Throttled as exc:
        await _finish(request_id, status=Invocation.THROTTLED, error=exc.as_error(), reason=exc.message)
    except Exception as exc:
        log.exception("invocation %s failed in the worker", request_id)
        await _finish(
            request_id,
            status=Invocation.FAILED,
            error={"errorType": "Coldstart.WorkerError", "errorMessage": str(exc), "stackTrace": []},
            reason=f"the sandbox worker failed: {exc}",
        )
    finally:
        saver.cancel()
        await batcher.close()
    if record is not None:
        await _finish(request_id, record=record, placement=placement)
    await layer.group_send(group, {"type": "invocation.done", "request_id": request_id})


async def _save_logs_periodically(request_id, batcher):
    """So a page reloaded mid-invocation can show what was logged so far."""
    while True:
        await asyncio.sleep(0.5)
        await _save_partial_logs(request_id, list(batcher.lines))


# ------------------------------------------------------------------ background loops
async def _heartbeat_forever():
    while True:
        try:
            await _beat()
        except Exception:
            log.exception("worker heartbeat failed")
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _reap_forever():
    """Reclaim environments idle past the TTL: the next invocation of that function is cold."""
    while True:
        await asyncio.sleep(REAP_SECONDS)
        for _, pool in list(state.pools.values()):
            pool.reclaim_idle()


def _start_background():
    loop = asyncio.get_running_loop()
    if state.background and state.background[0].get_loop() is loop and not state.background[0].done():
        return
    engine = get_engine()
    if not state.exit_hook:
        # On a normal shutdown (SIGTERM), destroy the environments: frozen ones would not die
        # with their parent until something thawed them.
        atexit.register(state.close_all)
        state.exit_hook = True
    if settings.SANDBOX_SERVICES and engine.services is None:
        engine.services = import_string(settings.SANDBOX_SERVICES)
    state.background = [asyncio.ensure_future(_heartbeat_forever()), asyncio.ensure_future(_reap_forever())]
    for path in settings.WORKER_BACKGROUND:
        state.background.append(asyncio.ensure_future(_supervised(import_string(path))))


async def _supervised(loop_function):
    """Run a background loop; if it crashes, log it and start it again a little later."""
    while True:
        try:
            await loop_function()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s crashed; restarting", loop_function.__qualname__)
            await asyncio.sleep(2)


class SandboxWorker(AsyncConsumer):
    async def invoke(self, message):
        _start_background()
        state.spawn(run_one(message["request_id"], self.channel_layer))

    async def reset(self, message):
        state.reset(message["function_id"])

    async def wake(self, message):
        """Sent by a web process at start-up: start the background loops (queue pollers,
        schedules, async retries) without waiting for the first invocation."""
        _start_background()

    async def configure(self, message):
        """The function's concurrency settings changed: apply them to its pool now."""
        _start_background()
        function = await _load_function(message["function_id"])
        if function is not None:
            spec = await sync_to_async(function_spec)(function)
            state.pool_for(function, spec)

    async def loadtest_start(self, message):
        from .loadgen import run_load_test

        _start_background()
        state.spawn(run_load_test(message["load_test_id"], self.channel_layer))


_embedded = {}
_woken = set()


def wake_external_workers():
    """With separate `runworker sandbox` processes, wake them once per web process so stored
    queue messages, schedules and retries resume after a restart. The message waits in Redis
    until a worker reads it."""
    if settings.SANDBOX_WORKER != "external":
        return
    loop = asyncio.get_running_loop()
    if loop in _woken:
        return
    _woken.add(loop)
    from .channels_names import all_worker_channels

    layer = get_channel_layer()
    for name in all_worker_channels():
        loop.create_task(layer.send(name, {"type": "wake"}))


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
    _start_background()
    log.info("embedded sandbox worker started on %s", ", ".join(channels))


__all__ = ["SandboxWorker", "ensure_embedded_worker", "function_group", "LoadTest"]
