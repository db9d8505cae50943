"""The launcher's side of an environment's cgroup (docs/architecture.md §5, layer 2).

The launcher pivots into the sandbox root and sees no /sys afterwards: its supervisor opens the
base directories (sandbox/engine/cgroups.py finds them) and the launcher works relative to them
(dir_fd). The same layout and names as the engine's own cgroups.

What the worker may do with an environment's cgroup it gets as open file descriptors: freeze
and thaw (freezer.state / cgroup.freeze), reset and read the memory peak, read the OOM count,
and set the CPU quota (after init; any value gives no more than `create` could ask for). It
cannot change the memory or process limits, move a process or remove the group.
"""

import os

_WRITE = os.O_WRONLY | os.O_CLOEXEC


class Hierarchy:
    """The directories environments' cgroups are made in: {controller: open directory}
    ("" for the single v2 hierarchy)."""

    def __init__(self, version, fds):
        self.version = version
        self.fds = dict(fds)


class EnvironmentCgroup:
    def __init__(self, hierarchy, name):
        self.version = hierarchy.version
        self.name = name
        self.bases = hierarchy.fds
        for base in self.bases.values():
            os.mkdir(name, 0o755, dir_fd=base)

    def rename(self, name):
        """Take `name` in every hierarchy (cgroup v1 allows it; v2 does not: keep the old one).
        True when renamed."""
        done = []
        try:
            for base in self.bases.values():
                os.rename(self.name, name, src_dir_fd=base, dst_dir_fd=base)
                done.append(base)
        except OSError:
            for base in done:
                os.rename(name, self.name, src_dir_fd=base, dst_dir_fd=base)
            return False
        self.name = name
        return True

    def open(self, controller, filename, flags=os.O_RDONLY | os.O_CLOEXEC):
        key = controller if self.version == 1 else ""
        return os.open(f"{self.name}/{filename}", flags, dir_fd=self.bases[key])

    def write(self, controller, filename, value):
        fd = self.open(controller, filename, _WRITE)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)

    def configure(self, memory_bytes, pids_max, cpu_quota_us, cpu_period_us, burst_us=0):
        if self.version == 1:
            # memory+swap may never be below memory: raise it first, lower it last.
            self._write_memsw(memory_bytes)
            self.write("memory", "memory.limit_in_bytes", memory_bytes)
            self._write_memsw(memory_bytes)
            self.write("pids", "pids.max", pids_max)
            self.write("cpu", "cpu.cfs_period_us", cpu_period_us)
            self.write("cpu", "cpu.cfs_quota_us", cpu_quota_us)
            try:  # let a short idle period's quota absorb tiny spikes (at most the quota)
                self.write("cpu", "cpu.cfs_burst_us", min(burst_us, cpu_quota_us))
            except FileNotFoundError:
                pass
        else:
            self.write("", "memory.max", memory_bytes)
            try:
                self.write("", "memory.swap.max", 0)
            except FileNotFoundError:
                pass
            self.write("", "pids.max", pids_max)
            self.write("", "cpu.max", f"{cpu_quota_us} {cpu_period_us}")

    def _write_memsw(self, value):
        """No swapping our way past the limit, where swap accounting exists."""
        try:
            self.write("memory", "memory.memsw.limit_in_bytes", value)
        except FileNotFoundError:
            pass
        except OSError:  # below memory.limit_in_bytes: the second call sets it
            pass

    def join_fds(self):
        """What the environment's first process writes "0" into to enter every hierarchy."""
        return [self.open(c, "cgroup.procs", _WRITE) for c in self.bases]

    def worker_fds(self):
        """(freeze, peak, oom, cpu) for the worker: the only operations it is trusted with."""
        if self.version == 1:
            return (self.open("freezer", "freezer.state", os.O_RDWR | os.O_CLOEXEC),
                    self.open("memory", "memory.max_usage_in_bytes", os.O_RDWR | os.O_CLOEXEC),
                    self.open("memory", "memory.oom_control"),
                    self.open("cpu", "cpu.cfs_quota_us", _WRITE))
        return (self.open("", "cgroup.freeze", os.O_RDWR | os.O_CLOEXEC),
                self.open("", "memory.peak", os.O_RDWR | os.O_CLOEXEC),
                self.open("", "memory.events"),
                self.open("", "cpu.max", _WRITE))

    def pids(self):
        found = set()
        for controller in self.bases:
            try:
                fd = self.open(controller, "cgroup.procs")
            except FileNotFoundError:
                continue
            try:
                data = b""
                while chunk := os.read(fd, 65536):
                    data += chunk
            finally:
                os.close(fd)
            found.update(int(p) for p in data.split())
        return found

    def kill(self):
        """Stop new forks, then SIGKILL every task (fork bombs included). The caller waits for
        `pids()` to empty; the kill is repeated in case a task was mid-fork."""
        try:
            self.write("pids", "pids.max", 1)
        except OSError:
            pass
        if self.version == 2:
            try:
                self.write("", "cgroup.kill", 1)
                return
            except OSError:
                pass
        controller, filename, frozen, thawed = (
            ("freezer", "freezer.state", "FROZEN", "THAWED") if self.version == 1
            else ("", "cgroup.freeze", "1", "0"))
        try:
            self.write(controller, filename, frozen)
        except OSError:
            pass
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        try:
            self.write(controller, filename, thawed)  # SIGKILL lands once the tasks run again
        except OSError:
            pass

    def remove(self):
        """Remove the directories; True once none is left (a busy one is retried later)."""
        left = False
        for base in self.bases.values():
            try:
                os.rmdir(self.name, dir_fd=base)
            except FileNotFoundError:
                pass
            except OSError:
                left = True
        return not left
