"""One stale-invocation sweeper per process: while anything here waits for an invocation, it
fails the invocations whose worker was lost (or that no worker picked up) once a second, for
every waiter at once, and tells each one's group that it is done.

Before, each waiting request and page ran that sweep itself every second or two: forty waiting
learners meant forty sweeps a second, queued on the database."""

import asyncio
import contextlib
import contextvars
import logging

from channels.layers import get_channel_layer

from sandbox.db_threads import in_db_thread
from sandbox.worker.channels import done_groups
from sandbox.worker.store import fail_stale_invocations

log = logging.getLogger(__name__)
SWEEP_SECONDS = 1.0


class _Sweeper:
    def __init__(self):
        self.waiters = 0
        self.task = None
        self.idle = asyncio.Event()  # set when the last waiter leaves: the sweeper stops

    def join(self):
        self.waiters += 1
        self.idle.clear()
        if self.task is None or self.task.done():
            # A fresh context: a waiter may be a request, whose executor dies with it.
            self.task = asyncio.get_running_loop().create_task(self._run(), context=contextvars.Context())

    def leave(self):
        self.waiters -= 1
        if not self.waiters:
            self.idle.set()

    async def _run(self):
        while self.waiters:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle.wait(), SWEEP_SECONDS)
            if not self.waiters:
                return
            try:
                failed = await in_db_thread(fail_stale_invocations, writes=True)()
                layer = get_channel_layer()
                for request_id in failed:
                    for group in done_groups(request_id):
                        await layer.group_send(group, {"type": "invocation.done", "request_id": request_id})
            except Exception:
                log.exception("the stale-invocation sweep failed; trying again")


_sweepers = {}  # event loop -> its _Sweeper


@contextlib.asynccontextmanager
async def stale_sweeping():
    """While inside, this process sweeps stale invocations every SWEEP_SECONDS."""
    loop = asyncio.get_running_loop()
    sweeper = _sweepers.get(loop)
    if sweeper is None:
        for old in [other for other in _sweepers if other.is_closed()]:
            del _sweepers[old]
        sweeper = _sweepers[loop] = _Sweeper()
    sweeper.join()
    try:
        yield
    finally:
        sweeper.leave()
