"""Pools of execution environments, and the concurrency rules that decide when to throttle.

Each concurrent in-flight invocation occupies one environment; an idle warm environment is
reused before a new one is started (docs/architecture.md §4). A pool holds the environments of
one version of a function ($LATEST, or a published version): a new version starts cold, as on
Lambda. `FunctionConcurrency` is what the versions of one function share: reserved concurrency,
the in-flight count it caps, and the scaling rate. `Account` holds what is shared by every pool
of this worker: the account concurrency limit, per-learner quotas and the host's cap on live
environments (its slots). Pure asyncio, no Django.

Whatever goes wrong during an invocation, its environment is given back to the pool or
destroyed: a slot is never left busy without an invocation running in it.
"""

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.engine.invocation import run_invocation
from sandbox.engine.slots import NoMemoryAvailable, NoSlotAvailable

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
SCALING_LIMIT = "FunctionInvocationRateLimitExceeded"
LEARNER_CONCURRENCY = "LearnerConcurrencyQuotaExceeded"
LEARNER_RATE = "LearnerRateQuotaExceeded"
LEARNER_MEMORY = "LearnerMemoryQuotaExceeded"
HOST_CAP = "HostEnvironmentCapReached"
HOST_MEMORY = "HostMemoryBudgetReached"
# Throttles that say nothing about the function itself: other traffic filled the account, the
# host or the learner's share. Reserved concurrency and the scaling rate are the function's own.
PLATFORM_REASONS = frozenset(
    {ACCOUNT_LIMIT, LEARNER_CONCURRENCY, LEARNER_RATE, LEARNER_MEMORY, HOST_CAP, HOST_MEMORY}
)

# Admission priorities. A lesson's Check goes first: when the platform is full it waits (up to
# the account's check_wait_s) instead of being throttled, load tests are refused while it waits,
# and the environments it used are evicted last for PROTECT_S (its next invocation should find
# them warm), never by a load test. Load tests come last: they leave 1/8 of the account's
# concurrency and of the host's environments (at least 1), and one of the learner's own share,
# to everything else.
CHECK, INTERACTIVE, LOAD = 0, 1, 2
CHECK_RETRY_S = 0.02
PROTECT_S = 10.0  # a Check's idle environments are evicted last for this long
PROVISION_WAIT_S = 20.0  # provisioned environments wait this long for a slot on a full host


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
    unreserved_floor: int = 0  # concurrency that reservations never take from the others
    learner_memory_mb: int | None = None  # one learner's live environments together
    check_wait_s: float = 0.0  # how long a Check waits for capacity the platform lacks

    @classmethod
    def from_table(cls, table):
        return cls(
            concurrency=table["ACCOUNT_CONCURRENCY"],
            scale_per_10s=table["SCALE_PER_10S"],
            learner_concurrency=table["LEARNER_CONCURRENCY"],
            learner_per_minute=table["LEARNER_PER_MINUTE"],
            idle_ttl_s=table["IDLE_TTL_S"],
            unreserved_floor=table["UNRESERVED_FLOOR"],
            learner_memory_mb=table["LEARNER_MEMORY_MB"],
            check_wait_s=table["CHECK_WAIT_S"],
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
    protected_until: float = 0.0  # a Check's: not evicted by lower-priority traffic before this


class FunctionConcurrency:
    """What every version's pool of one function shares (Lambda counts these per function)."""

    def __init__(self, reserved=None):
        self.reserved = reserved  # None = unreserved; 0 disables the function
        self.in_flight = 0
        self.new_environment_times = deque()


class Account:
    """What every pool of this worker shares."""

    def __init__(self, limits, on_event=None):
        self.limits = limits
        self.pools = set()
        self.in_flight = 0
        self.learner_in_flight = {}
        self.learner_starts = {}  # owner -> deque of monotonic times in the last minute
        self.checks_waiting = 0  # Check invocations waiting for capacity: load tests wait too
        self.on_event = on_event or (lambda kind, **data: None)

    def _functions(self):
        return {pool.function for pool in self.pools}

    def unreserved_capacity(self):
        """What functions without a reservation share: never less than the floor, even when
        stored reservations (set before a lower limit, say) add up to more."""
        limits = self.limits
        reserved = sum(f.reserved for f in self._functions() if f.reserved is not None)
        return max(min(limits.unreserved_floor, limits.concurrency), limits.concurrency - reserved)

    def learner_memory_mb(self, owner):
        """Memory sizes of the owner's live environments, together."""
        return sum(p.spec.memory_mb * len(p.slots) for p in self.pools if p.owner == owner)

    def unreserved_in_flight(self):
        return sum(f.in_flight for f in self._functions() if f.reserved is None)

    @staticmethod
    def load_headroom(total):
        """What load tests leave to everything else: 1/8 of `total`, at least 1."""
        return max(1, total // 8)

    def admit_learner(self, owner, priority=INTERACTIVE):
        if owner is None:
            return
        limits = self.limits
        running = self.learner_in_flight.get(owner, 0)
        # A learner's load test leaves one of their share to their own Invoke and Check.
        if priority == LOAD and 1 < limits.learner_concurrency <= running + 1:
            raise Throttled(
                LEARNER_CONCURRENCY,
                f"Your load test may use {limits.learner_concurrency - 1} of your "
                f"{limits.learner_concurrency} concurrent invocations; one stays for your own.",
            )
        if running >= limits.learner_concurrency:
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

    def learner_started(self, owner):
        """Count an admitted invocation against the learner's per-minute share (a throttled
        one, or a Check's tries while it waits, are not)."""
        if owner is not None:
            self.learner_starts.setdefault(owner, deque()).append(time.monotonic())

    def _evictable(self, wanting_pool, owner, priority):
        """(protected, last used, pool, slot) of the idle on-demand environments of other
        functions (of `owner`'s only, when given). A Check's stay out of a load test's reach."""
        now = time.monotonic()
        return [
            (slot.protected_until > now, slot.last_used, pool, slot)
            for pool in self.pools
            if pool is not wanting_pool and (owner is None or pool.owner == owner)
            for slot in pool.slots
            if not slot.busy and not slot.provisioned and (priority != LOAD or slot.protected_until <= now)
        ]

    def evictable_count(self, wanting_pool, priority=INTERACTIVE):
        return len(self._evictable(wanting_pool, None, priority))

    def evict_idle(self, wanting_pool, owner=None, priority=INTERACTIVE):
        """Free a slot for `wanting_pool` by destroying the least recently used idle on-demand
        environment of another function; one a Check has just used goes last (its next
        invocation should find it warm), and never for a load test. True when one was freed."""
        candidates = self._evictable(wanting_pool, owner, priority)
        if not candidates:
            return False
        *_, pool, slot = min(candidates, key=lambda c: (c[0], c[1]))
        pool.remove(slot, "evicted")
        return True


class FunctionPool:
    """The environments of one version of one function."""

    def __init__(self, engine, spec, account, *, key=None, owner=None, reserved=None, function=None):
        self.engine = engine
        self.spec = spec
        self.account = account
        self.key = key  # the function's id: events and logs name it
        self.owner = owner
        # Shared with the function's other versions' pools; a pool of its own by default.
        self.function = function or FunctionConcurrency(reserved)
        self.provisioned_target = 0
        self.slots = []
        self.in_flight = 0
        self.closed = False
        self._warming = None
        account.pools.add(self)
        engine.pools.add(self)

    @property
    def version(self):
        return self.spec.version

    @property
    def reserved(self):
        return self.function.reserved

    @reserved.setter
    def reserved(self, value):
        self.function.reserved = value

    # ---------------------------------------------------------------- admission
    def _admit(self, priority=INTERACTIVE):
        if self.closed:
            raise Throttled(ACCOUNT_LIMIT, "This function version was replaced; try again.")
        if self.reserved == 0:
            raise Throttled(
                RESERVED_LIMIT, "Rate Exceeded. The function's reserved concurrency is 0: it is disabled."
            )
        if self.reserved is not None and self.function.in_flight >= self.reserved:
            raise Throttled(
                RESERVED_LIMIT,
                f"Rate Exceeded. The function's reserved concurrency of {self.reserved} is in use.",
            )
        account = self.account
        if priority == LOAD and account.checks_waiting:
            raise Throttled(
                ACCOUNT_LIMIT,
                "Rate Exceeded. A lesson check is waiting for this server's capacity: load tests "
                "wait until it has run.",
            )
        # Concurrency counts every in-flight invocation, warm or cold (Lambda's rule).
        if self.reserved is None:
            capacity, in_flight = account.unreserved_capacity(), account.unreserved_in_flight()
            if in_flight >= capacity:
                raise Throttled(
                    ACCOUNT_LIMIT,
                    f"Rate Exceeded. All {account.limits.concurrency} concurrent executions"
                    " of the account are in use.",
                )
            if priority == LOAD and in_flight >= capacity - account.load_headroom(capacity):
                raise Throttled(
                    ACCOUNT_LIMIT,
                    f"Rate Exceeded. Load tests may use {capacity - account.load_headroom(capacity)} "
                    f"of the account's {capacity} concurrent executions; the rest is kept for "
                    "learners' own invocations.",
                )
        account.admit_learner(self.owner, priority)

    def _take_idle(self):
        idle = [s for s in self.slots if not s.busy and s.environment.state == "ready"]
        if not idle:
            return None
        # Provisioned first, then the most recently used: the warmest environment.
        slot = max(idle, key=lambda s: (s.provisioned, s.last_used))
        slot.busy = True
        return slot

    def _admit_new_environment(self, priority=INTERACTIVE):
        account = self.account
        now = time.monotonic()
        times = self.function.new_environment_times
        while times and now - times[0] > 10:
            times.popleft()
        if len(times) >= account.limits.scale_per_10s:
            raise Throttled(
                SCALING_LIMIT,
                f"Rate Exceeded. At most {account.limits.scale_per_10s} new execution environments "
                "per 10 seconds per function.",
            )
        self._make_room(priority)
        times.append(now)

    def _make_room(self, priority=INTERACTIVE):
        """Room for one more environment of this function: within the learner's memory share,
        the host's count of slots and its memory budget, evicting idle environments of other
        functions first. Raises Throttled when there is none."""
        account, need = self.account, self.spec.memory_mb
        cap = account.limits.learner_memory_mb
        if self.owner is not None and cap is not None:
            while account.learner_memory_mb(self.owner) + need > cap and need <= cap:
                if not account.evict_idle(self, owner=self.owner, priority=priority):
                    break
            used = account.learner_memory_mb(self.owner)
            if used + need > cap:
                raise Throttled(
                    LEARNER_MEMORY,
                    f"Your live execution environments hold {used} MB of memory and this one needs "
                    f"{need} MB: your share of this classroom server is {cap} MB. Wait for idle "
                    "ones to be reclaimed, or lower the memory or provisioned concurrency.",
                )
        slots = self.engine.slots
        budget = slots.memory_budget_mb
        if budget is not None and need > budget:
            raise Throttled(HOST_MEMORY, slots.memory_message(need))
        # Load tests never take the host's last free slots (they stay for learners' own
        # invocations and Checks): they evict idle environments instead, when there are enough.
        kept = account.load_headroom(slots.size) if priority == LOAD else 0
        limit = slots.size - kept
        if kept and slots.in_use - account.evictable_count(self, priority) >= limit:
            raise Throttled(
                HOST_CAP,
                f"This server keeps its last {kept} of {slots.size} live execution environments "
                "for learners' own invocations; the load test waits for one of its own.",
            )
        while (slots.in_use >= limit or not slots.fits(need)) and account.evict_idle(self, priority=priority):
            pass
        if slots.in_use >= limit:
            raise Throttled(
                HOST_CAP,
                f"This server's cap of {slots.size} live execution environments is reached; try "
                "again in a moment.",
            )
        if not slots.fits(need):
            raise Throttled(HOST_MEMORY, slots.memory_message(need))

    def _admission(self, priority):
        """Admit now or raise Throttled: the idle slot taken, or None for a new environment."""
        self._admit(priority)
        slot = self._take_idle()
        if slot is None:
            self._admit_new_environment(priority)
        self.account.learner_started(self.owner)
        return slot

    async def _admission_waiting(self, priority):
        """A Check waits (bounded) for capacity the platform lacks, ahead of load tests; a
        throttle of the function's own (reserved concurrency, scaling rate) is answered at once."""
        if priority != CHECK:
            return self._admission(priority)
        deadline = time.monotonic() + self.account.limits.check_wait_s
        self.account.checks_waiting += 1
        try:
            while True:
                try:
                    return self._admission(priority)
                except Throttled as exc:
                    if exc.reason not in PLATFORM_REASONS or self.closed or time.monotonic() >= deadline:
                        raise
                await asyncio.sleep(CHECK_RETRY_S)
        finally:
            self.account.checks_waiting -= 1

    # ---------------------------------------------------------------- invoking
    async def invoke(self, event_json, on_log=None, request_id=None, invoked_arn=None, priority=INTERACTIVE):
        """Run one invocation: (record, placement). Raises Throttled (nothing ran or billed).
        `invoked_arn`: the ARN the caller used (with its alias or version), for the context.
        `priority`: CHECK, INTERACTIVE (the default) or LOAD, see above."""
        slot = await self._admission_waiting(priority)
        self.in_flight += 1
        self.function.in_flight += 1
        self.account.in_flight += 1
        owner = self.owner
        self.account.learner_in_flight[owner] = self.account.learner_in_flight.get(owner, 0) + 1
        created = []

        def on_environment(environment):
            created.append(environment)
            self._on_new_environment(environment)

        provisioned = bool(slot and slot.provisioned)
        record = None
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
                    invoked_arn=invoked_arn,
                )
            except NoSlotAvailable as exc:  # taken meanwhile by another start
                reason = HOST_MEMORY if isinstance(exc, NoMemoryAvailable) else HOST_CAP
                raise Throttled(reason, str(exc)) from None
            finally:
                # Give the environment back, or destroy it when it is dead or anything raised.
                if slot is None and created:
                    slot = self._slot_of(created[0])
                if slot is not None:
                    self._release(slot, record, priority)
            placement = Placement(slot.environment.name if slot else None, provisioned, spillover)
            return record, placement
        finally:
            self.in_flight -= 1
            self.function.in_flight -= 1
            self.account.in_flight -= 1
            self.account.learner_in_flight[owner] -= 1

    def _release(self, slot, record, priority=INTERACTIVE):
        slot.busy = False
        slot.last_used = time.monotonic()
        if priority == CHECK:
            slot.protected_until = slot.last_used + PROTECT_S
        environment = slot.environment
        if record is None:
            self.remove(slot, "failed")
        elif environment.state != "ready":
            self.remove(slot, environment.end_reason or _end_reason(record.status))
        elif self.closed:
            self.remove(slot, "replaced")

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
            try:
                await self._room_for_provisioning()
            except Throttled as exc:
                self.account.on_event("provisioning_blocked", pool=self, reason=exc.reason)
                return
            environment = self.engine.new_environment(self.spec)
            slot = Slot(environment, provisioned=True, busy=True)
            self.slots.append(slot)
            self.account.on_event("environment_started", pool=self, environment=environment, provisioned=True)
            try:
                outcome = await environment.start(lambda line: None)
            except BaseException as exc:
                slot.provisioned = False  # given up, not replaced at once: that could loop
                self.remove(slot, "failed")
                if not isinstance(exc, Exception):
                    raise  # cancelled
                self.account.on_event("provisioning_blocked", pool=self, reason="failed")
                return
            if outcome.ok:
                slot.busy = False
                self.account.on_event("environment_ready", pool=self, environment=environment)
            else:
                self.slots.remove(slot)
                self.account.on_event(
                    "environment_ended", pool=self, environment=environment, reason="init_failed"
                )
                return

    async def _room_for_provisioning(self):
        """Room for a provisioned environment; on a host full of other traffic, wait (up to
        PROVISION_WAIT_S) for a slot to free. Raises Throttled when none came."""
        deadline = time.monotonic() + PROVISION_WAIT_S
        while True:
            try:
                return self._make_room()
            except Throttled as exc:
                if exc.reason not in (HOST_CAP, HOST_MEMORY) or self.closed or time.monotonic() >= deadline:
                    raise
                if self.spec.memory_mb > (self.engine.slots.memory_budget_mb or self.spec.memory_mb):
                    raise  # it never fits
            await asyncio.sleep(0.1)

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

    def leaks(self):
        """What breaks the pool's invariants (empty when sound): a busy slot is one an
        invocation or a provisioned start is using, and a dead environment holds no slot."""
        found = []
        warming = 0 if self._warming is None or self._warming.done() else 1
        busy = sum(s.busy for s in self.slots)
        if busy > self.in_flight + warming:
            found.append(f"{busy} busy slot(s) with {self.in_flight} invocation(s) running")
        dead = [s.environment.name for s in self.slots if s.environment.state == "dead"]
        found += [f"dead environment {name} kept in the pool" for name in dead]
        return found

    @property
    def live_environments(self):
        return len(self.slots)

    @property
    def idle(self):
        return [s.environment for s in self.slots if not s.busy]


def _end_reason(status):
    return {"timeout": "timeout", "oom": "out_of_memory", "crashed": "crashed"}.get(status, "init_failed")
