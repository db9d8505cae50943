"""The embedded sandbox worker, fresh for one test, in the test's own event loop.

The in-memory channel layer, the worker's pools and the engine are process-wide caches: each
test gets new ones bound to its loop, and afterwards nothing it started may be left running.
"""

import contextlib
import os
import signal

from sandbox import worker
from sandbox.worker.config import get_engine
from tests.live_server import PROCESS_UID_BASE
from tests.sandbox_helpers import processes_of_uids

SLOT_UID_BASE = PROCESS_UID_BASE  # see tests/live_server.py
MAX_ENVIRONMENTS = 8  # the host cap of the engine each test gets


@contextlib.asynccontextmanager
async def embedded_worker(settings):
    """Yield once the caches are fresh; on exit stop the worker and destroy its environments."""
    settings.SANDBOX = {
        **settings.SANDBOX,
        "SLOT_UID_BASE": SLOT_UID_BASE,
        "MAX_ENVIRONMENTS": MAX_ENVIRONMENTS,
    }
    worker.start_fresh()
    try:
        yield
    finally:
        await worker.settle(timeout=10)  # in-flight invocations end within their timeout
        worker.close_pools()
        await worker.settle(timeout=5)  # the "environment ended" rows are written
        await worker.stop(timeout=5)
        in_use = get_engine().slots.in_use if get_engine.cache_info().currsize else 0
        uids = {SLOT_UID_BASE + n for n in range(settings.SANDBOX["MAX_ENVIRONMENTS"])}
        leftovers = processes_of_uids(uids)
        for pid in leftovers:  # sweep, so one failure does not poison the next tests
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.start_fresh()
        assert not leftovers, f"sandbox processes survived the test: {leftovers}"
        assert in_use == 0, f"{in_use} environment slot(s) were not given back"
