"""The worker's Channels consumer on the "sandbox" channel(s): each message type is one job."""

from channels.consumer import AsyncConsumer, get_handler_name
from django.conf import settings

from sandbox.worker import store
from sandbox.worker.config import serve_channel
from sandbox.worker.configure import apply_configuration
from sandbox.worker.loadgen import run_load_test
from sandbox.worker.loops import start_background
from sandbox.worker.run import run_one
from sandbox.worker.state import state
from sandbox.worker.tuning import run_power_tuning


class SandboxWorker(AsyncConsumer):
    async def dispatch(self, message):
        """Channels closes "old" database connections before each message, on the thread that
        runs sync code. Embedded in the web process that thread serves requests too, whose
        connections Django manages itself (closing them under a request breaks it); a
        `runworker` process has no requests, so it keeps Channels' hygiene."""
        serve_channel(self.scope["channel"])  # before anything builds the engine
        if settings.SANDBOX_WORKER == "embedded":
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)
            return
        await super().dispatch(message)

    async def invoke(self, message):
        start_background()
        state.spawn(run_one(message, self.channel_layer))

    async def reset(self, message):
        state.reset(message["function_id"])

    async def wake(self, message):
        """Sent by a web process at start-up: start the background loops (queue pollers,
        schedules, async retries) without waiting for the first invocation."""
        start_background()

    async def configure(self, message):
        """The function's concurrency settings changed: apply them to its pools now."""
        start_background()
        function = await store.load_function(message["function_id"])
        if function is not None:
            await apply_configuration(function)

    async def loadtest_start(self, message):
        start_background()
        state.spawn(run_load_test(message["load_test_id"]))

    async def tuning_start(self, message):
        start_background()
        state.spawn(run_power_tuning(message["tuning_id"]))
