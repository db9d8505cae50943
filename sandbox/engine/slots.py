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

    def release(self, slot):
        with self._lock:
            self._memory.pop(slot, None)
            if slot not in self._free:
                self._free.append(slot)

    def uid(self, slot):
        return self.uid_base + slot

    def fits(self, memory_mb):
        """True when one more environment of `memory_mb` stays within the memory budget."""
        with self._lock:
            return self._fits(memory_mb)

    def _fits(self, memory_mb):
        budget = self.memory_budget_mb
        return budget is None or sum(self._memory.values()) + memory_mb <= budget

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
    def memory_in_use(self):
        return sum(self._memory.values())


def shard_range(size, uid_base, shard, shards):
    """(slots, first uid) of one shard of a host's slots: sharded workers on one host split the
    host's slots into disjoint uid ranges. `shard` None: the whole range (one worker)."""
    if shard is None or shards <= 1:
        return size, uid_base
    per_shard = max(1, size // shards)
    return per_shard, uid_base + shard * per_shard
