"""Where the worker runs: inside the web process (the embedded default), or in separate
`manage.py runworker sandbox` processes that a web process wakes once at start-up."""

import asyncio
import contextvars
import logging

from channels.layers import get_channel_layer
from channels.routing import ChannelNameRouter
from channels.worker import Worker
from django.conf import settings

from sandbox.worker.channels import all_worker_channels
from sandbox.worker.config import serve_all_channels
from sandbox.worker.consumer import SandboxWorker
from sandbox.worker.loops import start_background
from sandbox.worker.state import state

log = logging.getLogger(__name__)
_woken = set()


def wake_external_workers():
    """With separate `runworker sandbox` processes, wake them once per web process so stored
    queue messages, schedules and retries resume after a restart. The message waits in Redis
    until a worker reads it."""
    if settings.SANDBOX_WORKER != "external":
        return
    loop = asyncio.get_running_loop()
    if loop in _woken:
        return
    _woken.add(loop)
    layer = get_channel_layer()
    for name in all_worker_channels():
        loop.create_task(layer.send(name, {"type": "wake"}))


def ensure_embedded_worker():
    """Start the worker inside this process's event loop, once (the embedded default)."""
    if settings.SANDBOX_WORKER != "embedded":
        return
    loop = asyncio.get_running_loop()
    task = state.embedded_task
    if task is not None and task.get_loop() is loop and not task.done():
        return
    channels = all_worker_channels()
    serve_all_channels()
    router = ChannelNameRouter({name: SandboxWorker.as_asgi() for name in channels})
    worker = Worker(application=router, channels=channels, channel_layer=get_channel_layer())
    # A context of its own: started from inside an async_to_sync call (a sync view telling the
    # worker about new settings), it must not keep that call's thread executor, which ends.
    state.embedded_task = loop.create_task(worker.arun(), context=contextvars.Context())
    contextvars.Context().run(start_background)
    log.info("embedded sandbox worker started on %s", ", ".join(channels))
