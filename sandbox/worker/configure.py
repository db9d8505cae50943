"""Applying a function's concurrency settings to this worker's pools: its reserved concurrency,
and provisioned environments for the versions its aliases and versions ask for."""

from sandbox.db_threads import in_db_thread
from sandbox.worker.specs import provisioned_specs
from sandbox.worker.state import state


async def apply_configuration(function):
    provisioned = await in_db_thread(provisioned_specs)(function)
    state.configure(function, provisioned)


async def ensure_configured(function):
    """Once per function and worker process: a restarted worker provisions again on first use."""
    if function.id not in state.functions:
        await apply_configuration(function)
