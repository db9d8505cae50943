"""The worker's Channels consumer on the "sandbox" channel(s): each message type is one job."""

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer

from sandbox.worker import store
from sandbox.worker.loadgen import run_load_test
from sandbox.worker.loops import start_background
from sandbox.worker.run import run_one
from sandbox.worker.specs import function_spec
from sandbox.worker.state import state
from sandbox.worker.tuning import run_power_tuning


class SandboxWorker(AsyncConsumer):
    async def invoke(self, message):
        start_background()
        state.spawn(run_one(message["request_id"], self.channel_layer))

    async def reset(self, message):
        state.reset(message["function_id"])

    async def wake(self, message):
        """Sent by a web process at start-up: start the background loops (queue pollers,
        schedules, async retries) without waiting for the first invocation."""
        start_background()

    async def configure(self, message):
        """The function's concurrency settings changed: apply them to its pool now."""
        start_background()
        function = await store.load_function(message["function_id"])
        if function is not None:
            spec = await sync_to_async(function_spec)(function)
            state.pool_for(function, spec)

    async def loadtest_start(self, message):
        start_background()
        state.spawn(run_load_test(message["load_test_id"]))

    async def tuning_start(self, message):
        start_background()
        state.spawn(run_power_tuning(message["tuning_id"]))
