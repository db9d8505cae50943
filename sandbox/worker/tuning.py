"""Power tuning in the worker: the function run N times in series at each memory size, as the
AWS Lambda Power Tuning tool does (a new version per size there, a pool of its own here: the
first invocation at each size is a cold start). Every invocation goes through the account's
admission like any other (quotas, host cap), is saved as an Invocation of the run, and the
function's own configuration and warm environments are left alone."""

import asyncio
import logging
from dataclasses import replace

from asgiref.sync import sync_to_async
from django.utils import timezone

from sandbox.engine.pool import Throttled
from sandbox.models import PowerTuning
from sandbox.worker import store
from sandbox.worker.specs import function_spec
from sandbox.worker.state import state

log = logging.getLogger(__name__)
THROTTLE_RETRIES = 10  # a throttled invocation is tried again this many times, a second apart
THROTTLE_BACKOFF_S = 1.0
SIZE_CUT_SHORT = ("error", "timeout", "oom", "crashed", "failed", "throttled")


@sync_to_async
def _load(tuning_id):
    return (
        PowerTuning.objects.select_related("function")
        .filter(pk=tuning_id, status=PowerTuning.RUNNING)
        .first()
    )


def _stop_requested(tuning_id):
    return bool(PowerTuning.objects.filter(pk=tuning_id).values_list("stop_requested", flat=True).first())


@sync_to_async
def _progress(tuning_id, done, final_status=None, reason=""):
    """Save how far the run got; True when a stop was asked for."""
    fields = {"done": done}
    if final_status:
        fields.update(status=final_status, finished=timezone.now(), failure_reason=reason[:300])
    PowerTuning.objects.filter(pk=tuning_id).update(**fields)
    return _stop_requested(tuning_id)


async def run_power_tuning(tuning_id):
    run = await _load(tuning_id)
    if run is None:
        return
    function = run.function
    spec = await sync_to_async(function_spec)(function)
    progress = {"done": 0}
    final, reason = PowerTuning.FINISHED, ""
    try:
        for memory in run.memory_sizes:
            if await _tune_size(run, function, replace(spec, memory_mb=memory), progress):
                final = PowerTuning.STOPPED
                break
    except Exception as exc:  # the run ends failed with the reason; the worker carries on
        log.exception("power tuning %s failed", tuning_id)
        final, reason = PowerTuning.FAILED, f"The sandbox worker failed: {exc}"
    finally:
        await _progress(tuning_id, progress["done"], final, reason)


async def _tune_size(run, function, spec, progress):
    """N invocations at spec.memory_mb in a pool of their own; True when a stop was asked for.
    The first error (or a throttle that outlasts its retries) ends the size, which then counts
    whole in the progress: its result says what happened."""
    pool = state.open_side_pool(function, spec)
    finished_at = progress["done"] + run.invocations_per_size
    try:
        for _ in range(run.invocations_per_size):
            status = await _invoke(run, function, pool, spec.memory_mb)
            progress["done"] += 1
            if status in SIZE_CUT_SHORT:
                progress["done"] = finished_at
            if await _progress(run.pk, progress["done"]):
                return True
            if status in SIZE_CUT_SHORT:
                return False
        return False
    finally:
        state.close_side_pool(pool)


async def _invoke(run, function, pool, memory_mb):
    """One invocation of the run, saved; throttles retried. Returns the final status."""
    for attempt in range(THROTTLE_RETRIES + 1):
        invocation = await store.create_running(
            function, trigger="power-tuning", event=run.event, power_tuning=run, memory_mb=memory_mb
        )
        request_id = str(invocation.request_id)
        try:
            record, placement = await pool.invoke(run.event, request_id=request_id)
        except Throttled as exc:
            await store.finish_throttled(request_id, exc)
            if attempt == THROTTLE_RETRIES or await sync_to_async(_stop_requested)(run.pk):
                return "throttled"
            await asyncio.sleep(THROTTLE_BACKOFF_S)
            continue
        except Exception as exc:
            await store.finish_failed(request_id, exc)
            return "failed"
        await store.finish(request_id, record=record, placement=placement)
        return record.status
    return "throttled"
