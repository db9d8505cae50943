"""Running one invocation the web side queued: claim it, run it in the function's pool,
stream its log lines to its group in batches, save how it ended."""

import asyncio

from asgiref.sync import sync_to_async

from sandbox.engine.pool import CHECK, INTERACTIVE, Throttled
from sandbox.worker import store
from sandbox.worker.channels import invocation_group
from sandbox.worker.configure import ensure_configured
from sandbox.worker.logbatch import LogBatcher
from sandbox.worker.specs import version_spec
from sandbox.worker.state import state

PARTIAL_LOGS_SECONDS = 0.5


async def run_one(request_id, layer, priority=None):
    """Run one invocation; whatever goes wrong, it ends saved as something other than running.
    `priority` "check": a lesson's Check, admitted ahead of other traffic (sandbox/engine/pool.py)."""
    try:
        await _run_one(request_id, layer, CHECK if priority == "check" else INTERACTIVE)
    except Exception as exc:
        await store.finish_failed(request_id, exc)
        await layer.group_send(
            invocation_group(request_id), {"type": "invocation.done", "request_id": request_id}
        )


async def _run_one(request_id, layer, priority):
    invocation = await store.claim(request_id)
    if invocation is None:
        return
    group = invocation_group(request_id)
    function = invocation.function
    spec = await sync_to_async(version_spec)(function, invocation.executed_version)
    await ensure_configured(function)
    pool = state.pool_for(function, spec)

    async def send(start, lines):
        await layer.group_send(
            group, {"type": "invocation.logs", "request_id": request_id, "start": start, "lines": lines}
        )

    batcher = LogBatcher(send)
    saver = asyncio.ensure_future(_save_logs_periodically(request_id, batcher))
    try:
        record, placement = await pool.invoke(
            invocation.event,
            on_log=batcher.add,
            request_id=request_id,
            invoked_arn=spec.qualified_arn(invocation.qualifier),
            priority=priority,
        )
    except Throttled as exc:
        await store.finish_throttled(request_id, exc)
    else:
        await store.finish(request_id, record=record, placement=placement)
    finally:
        saver.cancel()
        await batcher.close()
    await layer.group_send(group, {"type": "invocation.done", "request_id": request_id})


async def _save_logs_periodically(request_id, batcher):
    """So a page reloaded mid-invocation can show what was logged so far."""
    while True:
        await asyncio.sleep(PARTIAL_LOGS_SECONDS)
        await store.save_partial_logs(request_id, list(batcher.lines))
