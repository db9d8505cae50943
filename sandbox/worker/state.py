"""What one worker process holds: a pool per (function, version) — warm environments belong to one
version, so a new version starts cold, as on Lambda — what each function's versions share
(reserved concurrency), the account that admits invocations across them, and the tasks it runs.
Only this package touches it."""

import asyncio
from collections import OrderedDict

from sandbox.engine.pool import Account, FunctionConcurrency, FunctionPool
from sandbox.worker.config import account_limits, get_engine
from sandbox.worker.specs import spec_version

RECENT_ENDS = 4096  # a few seconds of a busy class's invocations


class WorkerState:
    def __init__(self):
        self.pools = {}  # (function id, version) -> (spec hash, FunctionPool)
        self.functions = {}  # function id -> FunctionConcurrency shared by its versions' pools
        self.side_pools = set()  # pools beside a function's own, e.g. a tuning run's at another memory
        self.account = None
        self.tasks = set()
        self.background = []
        self.embedded_task = None
        self.exit_hook = False
        self.write_lock = None  # an asyncio.Lock binds to the loop that first waits on it
        self.on_environment_event = None  # set by the store: account events -> database rows
        self.recent_ends = OrderedDict()  # request id -> the saved end's columns (or None)

    def get_account(self):
        if self.account is None:
            self.account = Account(account_limits(), on_event=self.on_environment_event)
        return self.account

    def pool_for(self, function, spec):
        """The pool of the version `spec` runs. $LATEST's pool is replaced when its code or
        configuration changed (a published version never changes)."""
        key = (function.id, spec.version)
        digest = spec_version(spec)
        current = self.pools.get(key)
        if current and current[0] == digest:
            pool = current[1]
        else:
            if current:
                current[1].close()  # the code or configuration changed: old environments go
            shared = self.functions.setdefault(function.id, FunctionConcurrency())
            pool = FunctionPool(
                get_engine(),
                spec,
                self.get_account(),
                key=function.id,
                owner=function.owner_id,
                function=shared,
            )
            self.pools[key] = (digest, pool)
        pool.reserved = function.reserved_concurrency
        return pool

    def pools_of(self, function_id):
        return [pool for (fid, _), (_, pool) in self.pools.items() if fid == function_id]

    def configure(self, function, provisioned):
        """Apply the function's concurrency: its reserved concurrency, and `provisioned`
        {version: (spec, environments)} (every other version of it keeps none)."""
        for spec, count in provisioned.values():
            pool = self.pool_for(function, spec)
            if pool.provisioned_target != count:
                pool.set_provisioned(count)
        for pool in self.pools_of(function.id):
            pool.reserved = function.reserved_concurrency
            if pool.version not in provisioned and pool.provisioned_target:
                pool.set_provisioned(0)

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
        return sum(pool.reset() for pool in self.pools_of(function_id))

    def remember_end(self, request_id, row):
        """The end this worker just saved: a waiter in this process (the embedded worker's web
        side) that joins the done group only after it was announced finds it here."""
        self.recent_ends[request_id] = row
        while len(self.recent_ends) > RECENT_ENDS:
            self.recent_ends.popitem(last=False)

    def recent_end(self, request_id):
        """(True, columns or None) when this worker ended `request_id` recently, else (False, None)."""
        if request_id in self.recent_ends:
            return True, self.recent_ends[request_id]
        return False, None

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


state = WorkerState()
