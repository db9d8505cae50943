"""The worker's database writes: claiming an invocation, saving its logs and its end, the
heartbeat, environment lifecycles, and failing invocations whose worker was lost.

They run on the database threads (sandbox.db_threads), one query each where one suffices: an
invocation's hot path is the web side's INSERT (as running with the embedded worker, so no
claim), one read of the row and its function, and one UPDATE when it ends."""

import asyncio
import logging
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sandbox.db_threads import in_db_thread
from sandbox.engine.invocation import MEASURED_FIELDS
from sandbox.models import EnvironmentRecord, Function, Invocation, WorkerHeartbeat
from sandbox.worker.state import state

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@in_db_thread(writes=True)
def claim(request_id):
    """Mark the invocation running on this worker (one UPDATE); False if it is gone or already
    taken."""
    return bool(
        Invocation.objects.filter(request_id=request_id, status=Invocation.QUEUED).update(
            status=Invocation.RUNNING, worker_id=WORKER_ID, started=timezone.now()
        )
    )


@in_db_thread
def claimed_invocation(request_id):
    """The invocation this worker runs, with its function; None if it is gone."""
    return Invocation.objects.select_related("function").filter(request_id=request_id).first()


@in_db_thread(writes=True)
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


@in_db_thread(writes=True)
def save_partial_logs(request_id, lines):
    Invocation.objects.filter(request_id=request_id, status=Invocation.RUNNING).update(
        logs=_cap("\n".join(lines))[0]
    )


def _cap(text):
    limit = settings.SANDBOX["OUTPUT_CAP_BYTES"] + 64 * 1024
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def ended_fields(record=None, placement=None, status=None, error=None, reason=""):
    """The columns of an invocation that ended: the engine's record, or a status with an error."""
    if record is not None:
        fields = {name: getattr(record, name) for name in MEASURED_FIELDS}
        fields["logs"], fields["logs_truncated"] = _cap("\n".join(record.logs))
        fields["environment_name"] = placement.environment or ""
        fields["provisioned"] = placement.provisioned
        fields["spillover"] = placement.spillover
    else:
        fields = {"status": status, "error": error, "failure_reason": reason}
    fields["finished"] = timezone.now()
    return fields


async def finish(request_id, record=None, placement=None, status=None, error=None, reason=""):
    """Save how the invocation ended, in one UPDATE; returns the columns written."""
    fields = ended_fields(record, placement, status, error, reason)
    await _update(request_id, fields)
    return fields


@in_db_thread(writes=True)
def _update(request_id, fields):
    Invocation.objects.filter(request_id=request_id).update(**fields)


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


@in_db_thread
def load_function(function_id):
    return Function.objects.filter(pk=function_id).first()


@in_db_thread(writes=True)
def beat():
    WorkerHeartbeat.objects.update_or_create(worker_id=WORKER_ID, defaults={"last_seen": timezone.now()})


def fail_stale_invocations(function_id=None):
    """Invocations whose worker died, or that no worker picked up, end as failed with a reason.
    Returns their request ids (the sweeper tells their waiters)."""
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
    failed = []
    for invocation in running.exclude(worker_id__in=live).only("pk", "status", "worker_id", "request_id"):
        if _fail_lost(
            invocation,
            f"The sandbox worker {invocation.worker_id} stopped "
            "(no heartbeat) before this invocation finished.",
        ):
            failed.append(str(invocation.request_id))
    cutoff = now - timedelta(seconds=settings.QUEUE_STALE_SECONDS)
    for invocation in queued.filter(created__lt=cutoff).only("pk", "status", "request_id"):
        if _fail_lost(
            invocation,
            "No sandbox worker picked this invocation up within "
            f"{settings.QUEUE_STALE_SECONDS:.0f} s. Is `manage.py runworker sandbox` running?",
        ):
            failed.append(str(invocation.request_id))
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
            await in_db_thread(write, writes=True)()
        except Exception:
            log.exception("could not record an environment event")


state.on_environment_event = record_environment_event
