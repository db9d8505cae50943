"""The embedded sandbox worker, fresh for one test, in the test's own event loop.

The in-memory channel layer, the worker's pools and the engine are process-wide caches: each
test gets new ones bound to its loop, and afterwards nothing it started may be left running.
"""

import asyncio
import contextlib
import os
import signal

from channels.layers import channel_layers

from sandbox import worker
from sandbox.engine import get_engine
from tests.live_server import PROCESS_UID_BASE
from tests.sandbox_helpers import processes_of_uids

SLOT_UID_BASE = PROCESS_UID_BASE  # see tests/live_server.py
MAX_ENVIRONMENTS = 8  # the host cap of the engine each test gets


def _reset_caches():
    channel_layers.backends.clear()
    worker._embedded.clear()
    worker.state = worker.WorkerState()
    if hasattr(worker, "_write_lock"):
        worker._write_lock = None  # an asyncio.Lock binds to the loop that first waits on it
    get_engine.cache_clear()


async def _settle(state, timeout):
    """Let the worker's tasks (invocations, environment records) finish; True if they did."""
    running = [task for task in state.tasks if not task.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)
    return all(task.done() for task in state.tasks)


@contextlib.asynccontextmanager
async def embedded_worker(settings):
    """Yield once the caches are fresh; on exit stop the worker and destroy its environments."""
    settings.SANDBOX = {
        **settings.SANDBOX,
        "SLOT_UID_BASE": SLOT_UID_BASE,
        "MAX_ENVIRONMENTS": MAX_ENVIRONMENTS,
    }
    _reset_caches()
    try:
        yield
    finally:
        state = worker.state
        await _settle(state, timeout=10)  # in-flight invocations end within their timeout
        for _, pool in state.pools.values():
            pool.close()
        await _settle(state, timeout=5)  # the "environment ended" rows are written
        to_stop = [*state.tasks, *getattr(state, "background", ()), worker._embedded.get("task")]
        to_stop = [task for task in to_stop if task is not None and not task.done()]
        for task in to_stop:
            task.cancel()
        if to_stop:
            await asyncio.wait(to_stop, timeout=5)
        in_use = get_engine().slots.in_use if get_engine.cache_info().currsize else 0
        uids = {SLOT_UID_BASE + n for n in range(settings.SANDBOX["MAX_ENVIRONMENTS"])}
        leftovers = processes_of_uids(uids)
        for pid in leftovers:  # sweep, so one failure does not poison the next tests
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reset_caches()
        assert not leftovers, f"sandbox processes survived the test: {leftovers}"
        assert in_use == 0, f"{in_use} environment slot(s) were not given back"
