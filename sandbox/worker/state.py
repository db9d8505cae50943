"""What one worker process holds: a pool per function (one version each), the account that
admits invocations across them, and the tasks it runs. Only this package touches it."""

import asyncio

from sandbox.engine.pool import Account, FunctionPool
from sandbox.worker.config import account_limits, get_engine
from sandbox.worker.specs import spec_version


class WorkerState:
    def __init__(self):
        self.pools = {}  # function id -> (version, FunctionPool)
        self.side_pools = set()  # pools beside a function's own, e.g. a tuning run's at another memory
        self.account = None
        self.tasks = set()
        self.background = []
        self.embedded_task = None
        self.exit_hook = False
        self.write_lock = None  # an asyncio.Lock binds to the loop that first waits on it
        self.on_environment_event = None  # set by the store: account events -> database rows

    def get_account(self):
        if self.account is None:
            self.account = Account(account_limits(), on_event=self.on_environment_event)
        return self.account

    def pool_for(self, function, spec):
        version = spec_version(spec)
        current = self.pools.get(function.id)
        if current and current[0] == version:
            pool = current[1]
        else:
            if current:
                current[1].close()  # the code or configuration changed: old environments go
            pool = FunctionPool(
                get_engine(), spec, self.get_account(), key=function.id, owner=function.owner_id
            )
            self.pools[function.id] = (version, pool)
        configure(pool, function)
        return pool

    def open_side_pool(self, function, spec):
        """A pool of `function` at another configuration (`spec`) that leaves the function's own
        pool alone. It shares the account, so quotas and the host cap apply; reserved
        concurrency 0 still disables the function (a positive one is not counted twice)."""
        pool = FunctionPool(
            get_engine(),
            spec,
            self.get_account(),
            key=function.id,
            owner=function.owner_id,
            reserved=0 if function.reserved_concurrency == 0 else None,
        )
        self.side_pools.add(pool)
        return pool

    def close_side_pool(self, pool):
        pool.close()
        self.side_pools.discard(pool)

    def all_pools(self):
        return [pool for _, pool in self.pools.values()] + list(self.side_pools)

    def reset(self, function_id):
        current = self.pools.get(function_id)
        return current[1].reset() if current else 0

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def close_pools(self):
        """Close every pool: idle environments go now, busy ones when their invocation ends."""
        for pool in self.all_pools():
            pool.close()

    def close_all(self):
        """Destroy every environment, busy ones included (the process is going away)."""
        for pool in self.all_pools():
            pool.close()
            for slot in list(pool.slots):
                slot.environment.destroy()
        self.pools.clear()
        self.side_pools.clear()


def configure(pool, function):
    pool.reserved = function.reserved_concurrency
    if pool.provisioned_target != function.provisioned_concurrency:
        pool.set_provisioned(function.provisioned_concurrency)


state = WorkerState()
