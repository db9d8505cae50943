"""The engine: isolation detected once, limits, slots and prices, shared by every environment.

It knows nothing of Django: the worker builds it from the settings (sandbox/worker/config.py),
benchmarks and tests build it directly.
"""

import weakref

from sandbox.engine.environment import ExecutionEnvironment


class Engine:
    def __init__(self, isolation, limits, slots, prices):
        self.isolation = isolation
        self.limits = limits
        self.slots = slots
        self.prices = prices
        self.pools = weakref.WeakSet()  # every FunctionPool on this engine, for invariant checks

    services = None  # async (spec, op, args) -> JSON: what `coldstart` helpers in handlers call

    def new_environment(self, spec):
        environment = ExecutionEnvironment(spec, self.isolation, self.limits, self.slots)
        environment.services = self.services
        return environment
