"""One cgroup per execution environment: memory limit and peak, pids limit, CPU quota, freezer.

Works on cgroup v1 (one hierarchy per controller, as on the target Debian 12 VMs) and v2.
The service may already sit in a sub-cgroup: children are created under the cgroup that
/proc/self/cgroup names for each controller, in a group directory of their own (GROUP_DIR by
default; the worker names one per Coldstart instance, so two servers from two checkouts on one
host never sweep or count each other's environments).
"""

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu", "freezer")
GROUP_DIR = "coldstart"


def _own_cgroup_paths():
    """Map controller name (or "" for v2) to this process's cgroup path."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def detect_version(group=GROUP_DIR):
    """2, 1 or None when no usable cgroup hierarchy is writable here."""
    if (ROOT / "cgroup.controllers").exists():
        return 2 if os.access(ROOT, os.W_OK) or _v2_base_writable(group) else None
    if all((ROOT / c).is_dir() for c in V1_CONTROLLERS):
        try:
            for base in _v1_bases(group).values():
                base.mkdir(exist_ok=True)
                probe = base / f"probe-{os.getpid()}"
                probe.mkdir(exist_ok=True)
                probe.rmdir()
            return 1
        except OSError:
            return None
    return None


def _v1_bases(group=GROUP_DIR):
    own = _own_cgroup_paths()
    return {c: ROOT / c / own.get(c, "/").lstrip("/") / group for c in V1_CONTROLLERS}


def _v2_base(group=GROUP_DIR):
    own = _own_cgroup_paths().get("", "/")
    return ROOT / own.lstrip("/") / group


def _v2_base_writable(group):
    try:
        base = _v2_base(group)
        base.mkdir(exist_ok=True)
        return True
    except OSError:
        return False


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


def _read(path):
    with open(path) as handle:
        return handle.read()


class Cgroup:
    """The cgroup(s) of one environment. `join_paths` is what the child writes its pid into."""

    def __init__(self, name, version, group=GROUP_DIR):
        self.name = name
        self.version = version
        if version == 1:
            bases = _v1_bases(group)
            for base in bases.values():
                base.mkdir(exist_ok=True)
            self.dirs = {c: base / name for c, base in bases.items()}
        else:
            base = _v2_base(group)
            base.mkdir(exist_ok=True)
            _enable_v2_controllers(base)
            self.dirs = {"": base / name}
        for path in self.dirs.values():
            path.mkdir(exist_ok=True)

    @property
    def join_paths(self):
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _file(self, controller, v1_name, v2_name):
        if self.version == 1:
            return self.dirs[controller] / v1_name
        return self.dirs[""] / v2_name

    def configure(self, memory_bytes, pids_max, cpu_quota_us, cpu_period_us=100_000):
        if self.version == 1:
            _write(self.dirs["memory"] / "memory.limit_in_bytes", memory_bytes)
            memsw = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
            if memsw.exists():  # no swapping our way past the limit
                _write(memsw, memory_bytes)
            _write(self.dirs["pids"] / "pids.max", pids_max)
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", cpu_period_us)
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", cpu_quota_us)
        else:
            d = self.dirs[""]
            _write(d / "memory.max", memory_bytes)
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", 0)
            _write(d / "pids.max", pids_max)
            _write(d / "cpu.max", f"{cpu_quota_us} {cpu_period_us}")

    def set_cpu_quota(self, quota_us, period_us):
        if self.version == 1:
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", quota_us)
            burst = self.dirs["cpu"] / "cpu.cfs_burst_us"
            if burst.exists():  # let a short idle period's quota absorb tiny spikes
                _write(burst, min(quota_us, period_us))
        else:
            _write(self.dirs[""] / "cpu.max", f"{quota_us} {period_us}")

    def _hot_fd(self, path):
        """A control file written or read on every invocation, kept open: opening and closing
        cgroup files costs ~60 us each, a quarter of a warm invoke. Closed by destroy()."""
        fds = self.__dict__.setdefault("_fds", {})
        fd = fds.get(path)
        if fd is None:
            fd = fds[path] = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        return fd

    def _close_hot_fds(self):
        for fd in self.__dict__.pop("_fds", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass

    def reset_peak(self):
        """Start a new per-invocation peak (Max Memory Used)."""
        if self.version == 1:
            os.pwrite(self._hot_fd(self.dirs["memory"] / "memory.max_usage_in_bytes"), b"0", 0)
        else:
            peak = self.dirs[""] / "memory.peak"
            if peak.exists():
                try:
                    _write(peak, "reset")  # kernels >= 6.12 reset the peak per open file
                except OSError:
                    pass

    def peak_memory_bytes(self):
        name = self._file("memory", "memory.max_usage_in_bytes", "memory.peak")
        try:
            return int(os.pread(self._hot_fd(name), 64, 0))
        except (OSError, ValueError):
            return 0

    def oom_kills(self):
        if self.version == 1:
            text = _read(self.dirs["memory"] / "memory.oom_control")
        else:
            text = _read(self.dirs[""] / "memory.events")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_failures(self):
        if self.version == 1:
            return int(_read(self.dirs["memory"] / "memory.failcnt"))
        for line in _read(self.dirs[""] / "memory.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "max":
                return int(value)
        return 0

    def freeze(self):
        if self.version == 1:
            os.pwrite(self._hot_fd(self.dirs["freezer"] / "freezer.state"), b"FROZEN", 0)
        else:
            os.pwrite(self._hot_fd(self.dirs[""] / "cgroup.freeze"), b"1", 0)

    def thaw(self):
        if self.version == 1:
            os.pwrite(self._hot_fd(self.dirs["freezer"] / "freezer.state"), b"THAWED", 0)
        else:
            os.pwrite(self._hot_fd(self.dirs[""] / "cgroup.freeze"), b"0", 0)

    def pids(self):
        found = set()
        for d in self.dirs.values():
            try:
                found.update(int(p) for p in _read(d / "cgroup.procs").split())
            except OSError:
                pass
        return found

    def kill_all(self, timeout=10.0):
        """Kill every process, fork bombs included: stop new forks, freeze, kill, thaw, wait."""
        pids_file = self._file("pids", "pids.max", "pids.max")
        try:
            _write(pids_file, 1 if self.version == 1 else 1)
        except OSError:
            pass
        if self.version == 2 and (self.dirs[""] / "cgroup.kill").exists():
            _write(self.dirs[""] / "cgroup.kill", 1)
        else:
            try:
                self.freeze()
            except OSError:
                pass
            for pid in self.pids():
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            try:
                self.thaw()  # SIGKILL is delivered once the tasks run again
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while self.pids() and time.monotonic() < deadline:
            for pid in self.pids():
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.005)
        return not self.pids()

    def destroy(self):
        """Kill what is left and remove the directories. True when nothing leaked."""
        empty = self.kill_all()
        self._close_hot_fds()
        for d in self.dirs.values():
            for _ in range(200):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)  # zombies not yet reaped keep the cgroup busy
        return empty and not any(d.exists() for d in self.dirs.values())


def _enable_v2_controllers(base):
    try:
        parent_subtree = base.parent / "cgroup.subtree_control"
        _write(parent_subtree, "+memory +pids +cpu")
    except OSError:
        pass
    try:
        _write(base / "cgroup.subtree_control", "+memory +pids +cpu")
    except OSError:
        pass


def limit_base(memory_bytes, group=GROUP_DIR):
    """Cap the memory of every environment together: the parent cgroup of all of them gets
    `memory_bytes` (the host's budget), a backstop behind the per-environment limits. Returns
    the limit in force, or None when it could not be set (e.g. more is in use already)."""
    version = detect_version(group)
    if version is None:
        return None
    try:
        if version == 1:
            base = _v1_bases(group)["memory"]
            base.mkdir(exist_ok=True)
            memsw = base / "memory.memsw.limit_in_bytes"
            # memsw may never be below the memory limit: raise it first when growing.
            if memsw.exists() and int(_read(memsw)) < memory_bytes:
                _write(memsw, memory_bytes)
            _write(base / "memory.limit_in_bytes", memory_bytes)
            if memsw.exists():
                _write(memsw, memory_bytes)
        else:
            base = _v2_base(group)
            base.mkdir(exist_ok=True)
            _enable_v2_controllers(base)
            _write(base / "memory.max", memory_bytes)
    except (OSError, ValueError):
        return None
    return base_memory_limit(group)


def base_memory_limit(group=GROUP_DIR):
    """The memory limit of the environments' parent cgroup, in bytes (None when unlimited)."""
    version = detect_version(group)
    if version is None:
        return None
    try:
        if version == 1:
            value = _read(_v1_bases(group)["memory"] / "memory.limit_in_bytes").strip()
        else:
            value = _read(_v2_base(group) / "memory.max").strip()
    except OSError:
        return None
    return None if value == "max" or int(value) >= 1 << 62 else int(value)


def join(paths):
    """Called in the child between fork and exec: move this process into its cgroups."""
    for path in paths:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)


def _running(pid):
    """True while the process exists and has not exited (a zombie's environments are stale)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def sweep_stale(group=GROUP_DIR):
    """Remove environment cgroups left by a worker that died hard (its pid is gone).

    Only in `group` (one Coldstart instance's); names are `w<worker pid>-e<n>`, so live
    workers' environments are never touched.
    """
    version = detect_version(group)
    if version is None:
        return 0
    bases = _v1_bases(group) if version == 1 else {"": _v2_base(group)}
    names = set()
    for base in bases.values():
        if base.is_dir():
            names.update(p.name for p in base.iterdir() if p.is_dir())
    removed = 0
    for name in names:
        owner = name.split("-", 1)[0].lstrip("w")
        if owner.isdigit() and _running(owner):
            continue
        Cgroup(name, version, group).destroy()
        removed += 1
    return removed
