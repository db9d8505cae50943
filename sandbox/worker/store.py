"""The worker's database writes: claiming an invocation, saving its logs and its end, the
heartbeat, environment lifecycles, and failing invocations whose worker was lost."""

import asyncio
import logging
import os
import socket
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from sandbox.engine.invocation import MEASURED_FIELDS
from sandbox.models import EnvironmentRecord, Function, Invocation, WorkerHeartbeat
from sandbox.worker.state import state

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@sync_to_async
def claim(request_id):
    """Mark the invocation running on this worker; None if it is gone or already taken."""
    updated = Invocation.objects.filter(request_id=request_id, status=Invocation.QUEUED).update(
        status=Invocation.RUNNING, worker_id=WORKER_ID, started=timezone.now()
    )
    if not updated:
        return None
    return Invocation.objects.select_related("function").get(request_id=request_id)


@sync_to_async
def create_running(
    function, *, trigger, event, load_test=None, qualifier="", target=None, power_tuning=None, memory_mb=None
):
    """An invocation the worker starts itself (a load test's or a tuning run's), already running
    here. `target`: the version it runs (sandbox.versions.Target; None = $LATEST); a tuning
    run's at its own memory size."""
    return Invocation.objects.create(
        function=function,
        load_test=load_test,
        power_tuning=power_tuning,
        trigger=trigger,
        event=event,
        qualifier=qualifier,
        executed_version=target.executed_version if target else "$LATEST",
        status=Invocation.RUNNING,
        worker_id=WORKER_ID,
        started=timezone.now(),
        memory_size_mb=memory_mb or (target.version or function if target else function).memory_mb,
    )


@sync_to_async
def save_partial_logs(request_id, lines):
    Invocation.objects.filter(request_id=request_id, status=Invocation.RUNNING).update(
        logs=_cap("\n".join(lines))[0]
    )


def _cap(text):
    limit = settings.SANDBOX["OUTPUT_CAP_BYTES"] + 64 * 1024
    if len(text) <= limit:
        return text, False
    return text[:limit], True


@sync_to_async
def finish(request_id, record=None, placement=None, status=None, error=None, reason=""):
    """Save how the invocation ended: the engine's record, or a status with an error."""
    invocation = Invocation.objects.get(request_id=request_id)
    if record is not None:
        for name in MEASURED_FIELDS:
            setattr(invocation, name, getattr(record, name))
        invocation.logs, invocation.logs_truncated = _cap("\n".join(record.logs))
        invocation.environment_name = placement.environment or ""
        invocation.provisioned = placement.provisioned
        invocation.spillover = placement.spillover
    else:
        invocation.status = status
        invocation.error = error
        invocation.failure_reason = reason
    invocation.finished = timezone.now()
    invocation.save()
    return invocation


async def finish_throttled(request_id, throttled):
    return await finish(
        request_id, status=Invocation.THROTTLED, error=throttled.as_error(), reason=throttled.message
    )


async def finish_failed(request_id, exc):
    """The worker itself failed while running the invocation: it ends failed, with the reason."""
    log.error("invocation %s failed in the worker", request_id, exc_info=exc)
    return await finish(
        request_id,
        status=Invocation.FAILED,
        error={"errorType": "Coldstart.WorkerError", "errorMessage": str(exc), "stackTrace": []},
        reason=f"the sandbox worker failed: {exc}",
    )


@sync_to_async
def load_function(function_id):
    return Function.objects.filter(pk=function_id).first()


@sync_to_async
def beat():
    WorkerHeartbeat.objects.update_or_create(worker_id=WORKER_ID, defaults={"last_seen": timezone.now()})


def fail_stale_invocations(function_id=None):
    """Invocations whose worker died, or that no worker picked up, end as failed with a reason."""
    now = timezone.now()
    running = Invocation.objects.filter(status=Invocation.RUNNING)
    queued = Invocation.objects.filter(status=Invocation.QUEUED)
    if function_id is not None:
        running = running.filter(function_id=function_id)
        queued = queued.filter(function_id=function_id)
    live = set(
        WorkerHeartbeat.objects.filter(
            last_seen__gte=now - timedelta(seconds=settings.WORKER_STALE_SECONDS)
        ).values_list("worker_id", flat=True)
    )
    failed = 0
    for invocation in running.exclude(worker_id__in=live):
        failed += _fail_lost(
            invocation,
            f"The sandbox worker {invocation.worker_id} stopped "
            "(no heartbeat) before this invocation finished.",
        )
    cutoff = now - timedelta(seconds=settings.QUEUE_STALE_SECONDS)
    for invocation in queued.filter(created__lt=cutoff):
        failed += _fail_lost(
            invocation,
            "No sandbox worker picked this invocation up within "
            f"{settings.QUEUE_STALE_SECONDS:.0f} s. Is `manage.py runworker sandbox` running?",
        )
    return failed


def _fail_lost(invocation, reason):
    error = {"errorType": "Coldstart.WorkerLost", "errorMessage": reason, "stackTrace": []}
    return Invocation.objects.filter(pk=invocation.pk, status=invocation.status).update(
        status=Invocation.FAILED, failure_reason=reason, error=error, finished=timezone.now()
    )


def record_environment_event(kind, pool, environment=None, **data):
    """Account events -> EnvironmentRecord rows (written off the event loop, in order)."""
    if pool.key is None or environment is None:
        return
    now = timezone.now()

    def write():
        if kind == "environment_started":
            EnvironmentRecord.objects.create(
                function_id=pool.key,
                name=environment.name,
                version=pool.version,
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


async def _serialised_write(write):
    if state.write_lock is None:
        state.write_lock = asyncio.Lock()
    async with state.write_lock:
        try:
            await sync_to_async(write)()
        except Exception:
            log.exception("could not record an environment event")


state.on_environment_event = record_environment_event
