"""Slots: each live environment holds one, and with it its own uid (docs/architecture.md §5, layer 1).

A uid per slot keeps RLIMIT_NPROC and kill(-1) from ever crossing between sandboxes. The number
of slots is the host's cap on live environments.
"""

import threading


class NoSlotAvailable(RuntimeError):
    pass


class SlotPool:
    def __init__(self, size, uid_base):
        self.size = size
        self.uid_base = uid_base
        self._free = list(range(size))
        self._lock = threading.Lock()

    def acquire(self):
        with self._lock:
            if not self._free:
                raise NoSlotAvailable(
                    f"All {self.size} execution environments of this server are in use; "
                    "try again in a moment."
                )
            return self._free.pop(0)

    def release(self, slot):
        with self._lock:
            if slot not in self._free:
                self._free.append(slot)

    def uid(self, slot):
        return self.uid_base + slot

    @property
    def in_use(self):
        return self.size - len(self._free)
