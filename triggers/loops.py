"""Background loops of the event sources, run by the sandbox worker (settings.WORKER_BACKGROUND):
the asynchronous-invoke queue, the queue poller and the scheduler. Everything they work from is
in the database, so a restarted worker picks up where the last one stopped."""

import asyncio
import contextvars

from . import asyncinvoke, queues, schedules


async def run_forever():
    # Each loop runs in a fresh context: the embedded worker may have been started inside a
    # request, and the request's sync-thread executor (asgiref) dies with the request; tasks
    # that inherited it would fail every database call afterwards.
    loop = asyncio.get_running_loop()
    tasks = [
        loop.create_task(run(), context=contextvars.Context())
        for run in (asyncinvoke.run_forever, queues.run_forever, schedules.run_forever)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
