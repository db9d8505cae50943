"""The environments of one function version: an idle warm one is reused before a new one starts.

Each concurrent in-flight invocation occupies its own environment (DESIGN.md §3). Idle
environments are kept most-recently-used first, as Lambda tends to route to the warmest one.
"""

from .invocation import run_invocation


class FunctionPool:
    def __init__(self, engine, spec):
        self.engine = engine
        self.spec = spec
        self.idle = []  # ready environments, most recently used last
        self.busy = set()
        self.closed = False

    async def invoke(self, event_json, on_log=None, request_id=None):
        environment = self.idle.pop() if self.idle else None
        marker = environment or object()
        self.busy.add(marker)
        try:
            record, environment = await run_invocation(
                self.engine, self.spec, environment, event_json, on_log, request_id
            )
        finally:
            self.busy.discard(marker)
        if environment is not None:
            if self.closed:
                environment.destroy()
            else:
                self.idle.append(environment)
        return record

    @property
    def live_environments(self):
        return len(self.idle) + len(self.busy)

    def reset(self):
        """Destroy the idle environments: the next invocation is a cold start."""
        idle, self.idle = self.idle, []
        for environment in idle:
            environment.destroy()
        return len(idle)

    def close(self):
        """Destroy idle environments now and busy ones as soon as they finish."""
        self.closed = True
        return self.reset()
