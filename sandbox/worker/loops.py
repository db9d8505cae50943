"""The worker's background loops: heartbeat, idle reclaim, and the loops other apps register
in settings.WORKER_BACKGROUND (queue pollers, schedules, async retries)."""

import asyncio
import atexit
import logging
import signal

from django.conf import settings
from django.utils.module_loading import import_string

from sandbox.worker import store
from sandbox.worker.config import get_engine
from sandbox.worker.state import state

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
REAP_SECONDS = 1.0


async def _heartbeat_forever():
    while True:
        try:
            await store.beat()
        except Exception:
            log.exception("worker heartbeat failed")
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _reap_forever():
    """Reclaim environments idle past the TTL: the next invocation of that function is cold."""
    while True:
        await asyncio.sleep(REAP_SECONDS)
        for pool in state.all_pools():
            pool.reclaim_idle()


def start_background():
    """Start the loops once per event loop (idempotent)."""
    loop = asyncio.get_running_loop()
    if state.background and state.background[0].get_loop() is loop and not state.background[0].done():
        return
    engine = get_engine()
    if not state.exit_hook:
        # On a normal shutdown (SIGTERM), destroy the environments: frozen ones would not die
        # with their parent until something thawed them.
        atexit.register(state.close_all)
        state.exit_hook = True
        if settings.SANDBOX_WORKER == "external":
            # A `runworker` process has no SIGTERM handler of its own (daphne does): without one
            # a service manager's stop skips atexit and leaves frozen environments behind.
            loop.add_signal_handler(signal.SIGTERM, _exit_on_sigterm)
    if settings.SANDBOX_SERVICES and engine.services is None:
        engine.services = import_string(settings.SANDBOX_SERVICES)
    state.background = [asyncio.ensure_future(_heartbeat_forever()), asyncio.ensure_future(_reap_forever())]
    for path in settings.WORKER_BACKGROUND:
        state.background.append(asyncio.ensure_future(_supervised(import_string(path))))


def _exit_on_sigterm():
    log.warning("SIGTERM: destroying this worker's environments and exiting")
    state.close_all()  # now, while the event loop that owns their pipes still runs
    raise SystemExit(0)


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
