"""Pools of execution environments, and the concurrency rules that decide when to throttle.

Each concurrent in-flight invocation occupies one environment; an idle warm environment is
reused before a new one is started (docs/architecture.md §4). `Account` holds what is shared by every pool
of this worker: the account concurrency limit, the scaling rate, per-learner quotas and the
host's cap on live environments (its slots). Pure asyncio, no Django.
"""

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.engine.invocation import run_invocation
from sandbox.engine.slots import NoSlotAvailable

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
SCALING_LIMIT = "FunctionInvocationRateLimitExceeded"
LEARNER_CONCURRENCY = "LearnerConcurrencyQuotaExceeded"
LEARNER_RATE = "LearnerRateQuotaExceeded"
HOST_CAP = "HostEnvironmentCapReached"


class Throttled(Exception):
    """429 TooManyRequestsException with Lambda's Reason (or one of Coldstart's quotas)."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message

    def as_error(self):
        return {
            "errorType": "TooManyRequestsException",
            "errorMessage": self.message,
            "Reason": self.reason,
            "stackTrace": [],
        }


@dataclass
class AccountLimits:
    """Scaled down from AWS to what one small host can hold. Defaults are written once, in
    settings.SCALING (which says what AWS's are); `from_table` reads that table."""

    concurrency: int
    scale_per_10s: int
    learner_concurrency: int
    learner_per_minute: int
    idle_ttl_s: float

    @classmethod
    def from_table(cls, table):
        return cls(
            concurrency=table["ACCOUNT_CONCURRENCY"],
            scale_per_10s=table["SCALE_PER_10S"],
            learner_concurrency=table["LEARNER_CONCURRENCY"],
            learner_per_minute=table["LEARNER_PER_MINUTE"],
            idle_ttl_s=table["IDLE_TTL_S"],
        )


@dataclass
class Placement:
    """Where an invocation ran: the environment's name, whether it was provisioned, and whether
    it spilled over: ran on-demand while provisioned concurrency was configured (CloudWatch's
    ProvisionedConcurrencySpilloverInvocations)."""

    environment: str | None
    provisioned: bool
    spillover: bool = False


@dataclass
class Slot:
    """One environment in a pool, and what the timeline needs to know about it."""

    environment: object
    provisioned: bool
    busy: bool = False
    last_used: float = field(default_factory=time.monotonic)


class Account:
    """What every pool of this worker shares."""

    def __init__(self, limits, on_event=None):
        self.limits = limits
        self.pools = set()
        self.in_flight = 0
        self.learner_in_flight = {}
        self.learner_starts = {}  # owner -> deque of monotonic times in the last minute
        self.on_event = on_event or (lambda kind, **data: None)

    def unreserved_capacity(self):
        reserved = sum(p.reserved or 0 for p in self.pools if p.reserved is not None)
        return max(0, self.limits.concurrency - reserved)

    def unreserved_in_flight(self):
        return sum(p.in_flight for p in self.pools if p.reserved is None)

    def admit_learner(self, owner):
        if owner is None:
            return
        limits = self.limits
        if self.learner_in_flight.get(owner, 0) >= limits.learner_concurrency:
            raise Throttled(
                LEARNER_CONCURRENCY,
                f"You already have {limits.learner_concurrency} invocations running, your share of "
                "this classroom server. Wait for some to finish.",
            )
        starts = self.learner_starts.setdefault(owner, deque())
        now = time.monotonic()
        while starts and now - starts[0] > 60:
            starts.popleft()
        if len(starts) >= limits.learner_per_minute:
            raise Throttled(
                LEARNER_RATE,
                f"You started {limits.learner_per_minute} invocations in the last minute, your "
                "share of this classroom server. Try again in a few seconds.",
            )
        starts.append(now)

    def evict_idle(self, wanting_pool):
        """Free a slot for `wanting_pool` by destroying the least recently used idle on-demand
        environment of another function. True when one was freed."""
        candidates = [
            (slot.last_used, pool, slot)
            for pool in self.pools
            if pool is not wanting_pool
            for slot in pool.slots
            if not slot.busy and not slot.provisioned
        ]
        if not candidates:
            return False
        _, pool, slot = min(candidates, key=lambda c: c[0])
        pool.remove(slot, "evicted")
        return True


class FunctionPool:
    def __init__(self, engine, spec, account, *, key=None, owner=None, reserved=None):
        self.engine = engine
        self.spec = spec
        self.account = account
        self.key = key  # the function's id: events and logs name it
        self.owner = owner
        self.reserved = reserved  # None = unreserved; 0 disables the function
        self.provisioned_target = 0
        self.slots = []
        self.in_flight = 0
        self.new_environment_times = deque()
        self.closed = False
        self._warming = None
        account.pools.add(self)

    # ---------------------------------------------------------------- admission
    def _admit(self):
        if self.closed:
            raise Throttled(ACCOUNT_LIMIT, "This function version was replaced; try again.")
        if self.reserved == 0:
            raise Throttled(
                RESERVED_LIMIT, "Rate Exceeded. The function's reserved concurrency is 0: it is disabled."
            )
        if self.reserved is not None and self.in_flight >= self.reserved:
            raise Throttled(
                RESERVED_LIMIT,
                f"Rate Exceeded. The function's reserved concurrency of {self.reserved} is in use.",
            )
        account = self.account
        # Concurrency counts every in-flight invocation, warm or cold (Lambda's rule).
        if self.reserved is None and account.unreserved_in_flight() >= account.unreserved_capacity():
            raise Throttled(
                ACCOUNT_LIMIT,
                f"Rate Exceeded. All {account.limits.concurrency} concurrent executions"
                " of the account are in use.",
            )
        account.admit_learner(self.owner)

    def _take_idle(self):
        idle = [s for s in self.slots if not s.busy and s.environment.state == "ready"]
        if not idle:
            return None
        # Provisioned first, then the most recently used: the warmest environment.
        slot = max(idle, key=lambda s: (s.provisioned, s.last_used))
        slot.busy = True
        return slot

    def _admit_new_environment(self):
        account = self.account
        now = time.monotonic()
        while self.new_environment_times and now - self.new_environment_times[0] > 10:
            self.new_environment_times.popleft()
        if len(self.new_environment_times) >= account.limits.scale_per_10s:
            raise Throttled(
                SCALING_LIMIT,
                f"Rate Exceeded. At most {account.limits.scale_per_10s} new execution environments "
                "per 10 seconds per function.",
            )
        slots = self.engine.slots
        if slots.in_use >= slots.size and not account.evict_idle(self):
            raise Throttled(
                HOST_CAP,
                f"This server's cap of {slots.size} live execution environments is reached; try "
                "again in a moment.",
            )
        self.new_environment_times.append(now)

    # ---------------------------------------------------------------- invoking
    async def invoke(self, event_json, on_log=None, request_id=None):
        """Run one invocation: (record, placement). Raises Throttled (nothing ran or billed)."""
        self._admit()
        slot = self._take_idle()
        if slot is None:
            self._admit_new_environment()
        self.in_flight += 1
        self.account.in_flight += 1
        owner = self.owner
        self.account.learner_in_flight[owner] = self.account.learner_in_flight.get(owner, 0) + 1
        created = []

        def on_environment(environment):
            created.append(environment)
            self._on_new_environment(environment)

        provisioned = bool(slot and slot.provisioned)
        spillover = not provisioned and self.provisioned_target > 0
        try:
            try:
                record, _ = await run_invocation(
                    self.engine,
                    self.spec,
                    slot.environment if slot else None,
                    event_json,
                    on_log,
                    request_id,
                    on_environment=on_environment,
                    provisioned=provisioned,
                )
            except NoSlotAvailable as exc:
                raise Throttled(HOST_CAP, str(exc)) from None
            if slot is None and created:
                slot = self._slot_of(created[0])
            placement = Placement(None, provisioned, spillover)
            if slot is not None:
                placement = Placement(slot.environment.name, provisioned, spillover)
                slot.busy = False
                slot.last_used = time.monotonic()
                if slot.environment.state != "ready":
                    self.remove(slot, _end_reason(record.status))
                elif self.closed:
                    self.remove(slot, "replaced")
            return record, placement
        finally:
            self.in_flight -= 1
            self.account.in_flight -= 1
            self.account.learner_in_flight[owner] -= 1

    def _on_new_environment(self, environment):
        slot = Slot(environment, provisioned=False, busy=True)
        self.slots.append(slot)
        self.account.on_event("environment_started", pool=self, environment=environment, provisioned=False)

    def _slot_of(self, environment):
        for slot in self.slots:
            if slot.environment is environment:
                return slot
        return None

    # ---------------------------------------------------------------- lifecycle
    def remove(self, slot, reason):
        if slot in self.slots:
            self.slots.remove(slot)
        slot.environment.destroy()
        self.account.on_event("environment_ended", pool=self, environment=slot.environment, reason=reason)
        if slot.provisioned and not self.closed:
            self.ensure_provisioned()  # Lambda replaces a lost provisioned environment

    def set_provisioned(self, count):
        self.provisioned_target = max(0, count)
        provisioned = [s for s in self.slots if s.provisioned]
        for slot in provisioned[self.provisioned_target :]:
            if slot.busy:
                slot.provisioned = False  # becomes on-demand; reclaimed when idle
            else:
                self.remove(slot, "deprovisioned")
        return self.ensure_provisioned()

    def ensure_provisioned(self):
        """Start provisioned environments up to the target, in the background."""
        if self._warming is None or self._warming.done():
            self._warming = asyncio.ensure_future(self._warm())
        return self._warming

    async def _warm(self):
        while not self.closed and sum(s.provisioned for s in self.slots) < self.provisioned_target:
            if self.engine.slots.in_use >= self.engine.slots.size and not self.account.evict_idle(self):
                self.account.on_event("provisioning_blocked", pool=self)
                return
            environment = self.engine.new_environment(self.spec)
            slot = Slot(environment, provisioned=True, busy=True)
            self.slots.append(slot)
            self.account.on_event("environment_started", pool=self, environment=environment, provisioned=True)
            outcome = await environment.start(lambda line: None)
            if outcome.ok:
                slot.busy = False
                self.account.on_event("environment_ready", pool=self, environment=environment)
            else:
                self.slots.remove(slot)
                self.account.on_event(
                    "environment_ended", pool=self, environment=environment, reason="init_failed"
                )
                return

    def reclaim_idle(self, now=None):
        """Destroy on-demand environments idle for longer than the TTL. Returns how many."""
        now = now or time.monotonic()
        ttl = self.account.limits.idle_ttl_s
        stale = [s for s in self.slots if not s.busy and not s.provisioned and now - s.last_used > ttl]
        for slot in stale:
            self.remove(slot, "reclaimed")
        return len(stale)

    def reset(self):
        """Destroy the idle environments: the next invocation is a cold start."""
        idle = [s for s in self.slots if not s.busy]
        for slot in idle:
            slot.provisioned = False
            self.remove(slot, "reset")
        if self.provisioned_target and not self.closed:
            self.ensure_provisioned()
        return len(idle)

    def close(self):
        """Destroy idle environments now and busy ones as soon as they finish."""
        self.closed = True
        self.provisioned_target = 0
        count = self.reset()
        self.account.pools.discard(self)
        return count

    @property
    def live_environments(self):
        return len(self.slots)

    @property
    def idle(self):
        return [s.environment for s in self.slots if not s.busy]


def _end_reason(status):
    return {"timeout": "timeout", "oom": "out_of_memory", "crashed": "crashed"}.get(status, "init_failed")
