"""The sandbox worker: runs invocations in the engine's pools, streams their logs, saves them.

It runs inside the web process by default (embedded), or as `manage.py runworker sandbox`
processes with REDIS_URL. The web side, triggers and lessons talk to it only through the
names below; the modules of this package are its inside:

- client: what the web side calls (start an invocation, wait for it, configure, reset)
- consumer: the Channels consumer, one method per message type
- run: one queued invocation from claim to saved record
- state: this process's pools and tasks
- store: the worker's database writes (claim, finish, heartbeat, lost workers)
- sweeper: one stale-invocation sweeper per process, while anything in it waits
- loops: heartbeat, idle reclaim and registered background loops
- embedded: starting the worker in the web process, or waking external ones
- loadgen: load tests, through the same pools
- tuning: power-tuning runs, each memory size in a pool of its own beside the function's
- config: the engine, limits, prices and scaling rules from the settings
"""

import asyncio

from sandbox.worker.client import (
    configure_function,
    create_invocation,
    reset_environments,
    send_to_worker,
    start_invocation,
    start_load_test,
    start_power_tuning,
    validate_event,
    wait_until_finished,
)
from sandbox.worker.consumer import SandboxWorker
from sandbox.worker.embedded import ensure_embedded_worker, wake_external_workers
from sandbox.worker.state import state as _state
from sandbox.worker.store import fail_stale_invocations, record_environment_event


def spawn(coroutine):
    """Run a coroutine as a task the worker owns (it is awaited before the worker stops)."""
    return _state.spawn(coroutine)


def close_pools():
    """Close every pool: idle environments are destroyed, busy ones when they finish."""
    _state.close_pools()


async def settle(timeout):
    """Wait up to `timeout` s for the worker's tasks; True when none is left running."""
    running = [task for task in _state.tasks if not task.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)
    return all(task.done() for task in _state.tasks)


async def stop(timeout=5):
    """Cancel the worker's tasks and loops (tests and check_lessons end with this)."""
    tasks = [*_state.tasks, *_state.background, _state.embedded_task]
    tasks = [task for task in tasks if task is not None and not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


def start_fresh():
    """Forget this process's pools, tasks and engine, e.g. before a new event loop runs it."""
    from channels.layers import channel_layers

    from sandbox.worker.config import forget_engine

    channel_layers.backends.clear()
    _state.__init__()
    _state.on_environment_event = record_environment_event
    forget_engine()


__all__ = [
    "SandboxWorker",
    "close_pools",
    "configure_function",
    "create_invocation",
    "ensure_embedded_worker",
    "fail_stale_invocations",
    "reset_environments",
    "send_to_worker",
    "settle",
    "spawn",
    "start_fresh",
    "start_invocation",
    "start_load_test",
    "start_power_tuning",
    "stop",
    "validate_event",
    "wait_until_finished",
    "wake_external_workers",
]
