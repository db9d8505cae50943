"""Slots: each live environment holds one, and with it its own uid (docs/architecture.md §5, layer 1).

A uid per slot keeps RLIMIT_NPROC and kill(-1) from ever crossing between sandboxes. The number
of slots is the host's cap on live environments; the memory budget caps the sum of their
memory sizes, so the host never admits more environments than it can hold.
"""

import threading


class NoSlotAvailable(RuntimeError):
    pass


class NoMemoryAvailable(NoSlotAvailable):
    """A slot is free, but the memory budget cannot hold one more environment of that size."""


class SlotPool:
    def __init__(self, size, uid_base, memory_budget_mb=None):
        self.size = size
        self.uid_base = uid_base
        self.memory_budget_mb = memory_budget_mb  # None: count only
        self._free = list(range(size))
        self._memory = {}  # slot -> memory size (MB) of the environment holding it
        # Slots whose environment is dead and torn down in a thread (destroy_soon): still held
        # (their uid may have processes until the kill lands) but already promised to the next
        # environment, so admission neither evicts another for them nor throttles.
        self._releasing = set()
        self._lock = threading.Lock()

    def acquire(self, memory_mb=0):
        with self._lock:
            if not self._free:
                raise NoSlotAvailable(
                    f"All {self.size} execution environments of this server are in use; "
                    "try again in a moment."
                )
            if not self._fits(memory_mb):
                raise NoMemoryAvailable(self.memory_message(memory_mb))
            slot = self._free.pop(0)
            self._memory[slot] = memory_mb
            return slot

    def releasing(self, slot):
        """`slot`'s environment is being torn down: it is free once release() comes."""
        with self._lock:
            if slot in self._memory:
                self._releasing.add(slot)

    def release(self, slot):
        with self._lock:
            self._releasing.discard(slot)
            self._memory.pop(slot, None)
            if slot not in self._free:
                self._free.append(slot)

    def uid(self, slot):
        return self.uid_base + slot

    def fits(self, memory_mb, after_teardowns=False):
        """True when one more environment of `memory_mb` stays within the memory budget
        (`after_teardowns`: once the environments being torn down are gone)."""
        with self._lock:
            return self._fits(memory_mb, after_teardowns)

    def _fits(self, memory_mb, after_teardowns=False):
        budget = self.memory_budget_mb
        if budget is None:
            return True
        gone = self._releasing if after_teardowns else ()
        held = sum(mb for slot, mb in self._memory.items() if slot not in gone)
        return held + memory_mb <= budget

    def memory_message(self, memory_mb):
        return (
            f"This server's memory budget of {self.memory_budget_mb} MB for execution environments "
            f"cannot hold another {memory_mb} MB environment now ({self.memory_in_use} MB in use); "
            "try again in a moment, or lower the function's memory."
        )

    @property
    def in_use(self):
        return self.size - len(self._free)

    @property
    def in_use_after_teardowns(self):
        """Slots held by live environments (in_use less those being torn down)."""
        return self.in_use - len(self._releasing)

    @property
    def tearing_down(self):
        return bool(self._releasing)

    @property
    def memory_in_use(self):
        return sum(self._memory.values())


def shard_range(size, uid_base, shard, shards):
    """(slots, first uid) of one shard of a host's slots: sharded workers on one host split the
    host's slots into disjoint uid ranges. `shard` None: the whole range (one worker)."""
    if shard is None or shards <= 1:
        return size, uid_base
    per_shard = max(1, size // shards)
    return per_shard, uid_base + shard * per_shard
