"""Running one invocation the web side queued: claim it (unless the web side inserted it as
this process's claim), run it in the function's pool, stream its log lines to its group in
batches, save how it ended in one write, and tell its followers and waiters."""

import asyncio

from sandbox.db_threads import in_db_thread
from sandbox.engine.pool import CHECK, INTERACTIVE, Throttled
from sandbox.worker import store
from sandbox.worker.channels import done_groups, invocation_group
from sandbox.worker.configure import ensure_configured
from sandbox.worker.logbatch import LogBatcher
from sandbox.worker.specs import function_spec, version_spec
from sandbox.worker.state import state

PARTIAL_LOGS_SECONDS = 0.5
INLINE_ROW_CHARS = 64 * 1024  # a done message carries the saved columns up to this much log


async def run_one(message, layer):
    """Run one invocation; whatever goes wrong, it ends saved as something other than running.
    `message`: the "invoke" message (its request id, "claimed" when the row was inserted as this
    worker's, "priority" "check" for a lesson's Check, admitted ahead of other traffic: see
    sandbox/engine/pool.py), or a request id alone."""
    if isinstance(message, str):
        message = {"request_id": message}
    request_id = message["request_id"]
    try:
        await _run_one(message, layer)
    except Exception as exc:
        await _say_done(layer, request_id, await store.finish_failed(request_id, exc))


async def _run_one(message, layer):
    request_id = message["request_id"]
    priority = CHECK if message.get("priority") == "check" else INTERACTIVE
    if not message.get("claimed") and not await store.claim(request_id):
        return
    invocation = await store.claimed_invocation(request_id)
    if invocation is None:
        return
    group = invocation_group(request_id)
    function = invocation.function
    spec = await _spec(function, invocation.executed_version)
    await ensure_configured(function)
    pool = state.pool_for(function, spec)

    async def send(start, lines):
        await layer.group_send(
            group, {"type": "invocation.logs", "request_id": request_id, "start": start, "lines": lines}
        )

    # Nobody follows a "quiet" invocation line by line (an API call, a Check, a trigger): its
    # lines are kept for the record and the partial saves, not sent.
    batcher = LogBatcher(None if message.get("quiet") else send)
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
        fields = await store.finish_throttled(request_id, exc)
    else:
        fields = await store.finish(request_id, record=record, placement=placement)
    finally:
        saver.cancel()
        await batcher.close()
    await _say_done(layer, request_id, fields)


async def _spec(function, executed_version):
    if executed_version == "$LATEST" and not function.layers:
        return function_spec(function)  # reads nothing from the database: no thread hop
    return await in_db_thread(version_spec)(function, executed_version)


async def _say_done(layer, request_id, fields):
    """Tell the invocation's followers and waiters it has ended; with the saved columns when
    they are small, so a waiting request need not read the row back."""
    done = {"type": "invocation.done", "request_id": request_id}
    with_row = done
    if fields is not None and len(fields.get("logs", "")) <= INLINE_ROW_CHARS:
        with_row = dict(done, row=dict(fields, finished=fields["finished"].isoformat()))
    state.remember_end(request_id, with_row.get("row"))
    for group in done_groups(request_id):
        try:
            await layer.group_send(group, with_row)
        except Exception:  # e.g. a result the layer cannot serialise: the row is in the database
            await layer.group_send(group, done)


async def _save_logs_periodically(request_id, batcher):
    """So a page reloaded mid-invocation can show what was logged so far (only when something
    new was logged: a quiet handler costs no writes)."""
    saved = 0
    while True:
        await asyncio.sleep(PARTIAL_LOGS_SECONDS)
        if len(batcher.lines) != saved:
            saved = len(batcher.lines)
            await store.save_partial_logs(request_id, batcher.lines[:saved])
