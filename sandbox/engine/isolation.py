"""What the host supports, and how an environment is started.

Layers (docs/architecture.md §5): a uid per slot, a cgroup per environment, rlimits, namespaces
(no network, no host files, no host environment, capped /tmp), seccomp, and the watchdog in
`environment.py`. Two ways to build them:
  launcher   the privileged launcher (sandbox/launcher) forks each environment from an
             interpreter that has the runtime imported already; the worker needs no privilege.
             The default: a launcher socket from the settings, or, for a worker running as root
             without one, a private launcher of its own.
  bwrap      the worker (as root) starts bubblewrap + setpriv + a fresh interpreter per
             environment: the fallback for a machine where the launcher cannot run.
`detect()` probes once at start-up and names the level reached:
  full          every layer above
  namespaces    namespaces work but cgroups, seccomp or uid switching do not
  rlimits-only  a plain child process with rlimits: no real isolation
"""

import os
import platform
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.engine import cgroups, seccomp, uidlease
from sandbox.engine.launcher_client import Launcher
from sandbox.engine.rlimits import default_rlimits  # noqa: F401 - the engine's name for it
from sandbox.launcher.protocol import INIT_TITLE

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
TASK_ROOT = "/var/task"
LEVELS = ("rlimits-only", "namespaces", "full")


class IsolationUnavailable(RuntimeError):
    pass


@dataclass
class Isolation:
    level: str
    python: str  # the interpreter binary, resolved (never a shim)
    python_prefix: str
    bwrap: str | None = None
    cgroup_version: int | None = None
    seccomp_filter: bytes | None = None
    switch_uid: bool = False
    missing: list[str] = field(default_factory=list)
    cgroup_group: str = cgroups.GROUP_DIR  # the directory this engine's environment cgroups go in
    launcher: Launcher | None = None

    @property
    def spawn(self):
        return "launcher" if self.launcher is not None else "bwrap"

    @property
    def init_command(self):
        """What an environment's pid 1 (its init, run by root) shows as its command line."""
        return INIT_TITLE if self.launcher is not None else self.bwrap

    def describe(self):
        how = "launcher" if self.launcher is not None else "bubblewrap" if self.bwrap else "no sandbox"
        if not self.missing:
            return f"isolation level {self.level} ({how})"
        return f"isolation level {self.level} ({how}; missing: {'; '.join(self.missing)})"


def sandbox_python():
    """The virtualenv's interpreter, resolved to the real binary, and the prefix it needs."""
    return os.path.realpath(sys.executable), sys.base_prefix


def detect(require=None, cgroup_group=cgroups.GROUP_DIR, spawn="launcher", launcher_socket=""):
    """The isolation this process gets. `spawn="launcher"` uses the launcher at
    `launcher_socket` (or a private one when running as root without a socket); without one
    (not root, no socket) or with `spawn="bwrap"`, the worker starts bubblewrap itself."""
    python, prefix = sandbox_python()
    unreachable = None
    if spawn == "launcher" and (launcher_socket or os.geteuid() == 0):
        try:
            iso = _through_launcher(python, prefix, launcher_socket, cgroup_group)
        except IsolationUnavailable as exc:
            unreachable = str(exc)  # fall back to starting bubblewrap ourselves, and say so
        else:
            _check_required(iso, require)
            return iso
    iso = Isolation(level="rlimits-only", python=python, python_prefix=prefix, cgroup_group=cgroup_group)
    if unreachable:
        iso.missing.append(unreachable)
    iso.bwrap = shutil.which("bwrap")
    if iso.bwrap is None:
        iso.missing.append("bubblewrap is not installed (apt-get install bubblewrap)")
    elif not _bwrap_works(iso):
        iso.missing.append("bubblewrap cannot create namespaces here")
        iso.bwrap = None
    if os.geteuid() == 0:
        iso.switch_uid = shutil.which("setpriv") is not None
        if not iso.switch_uid:
            iso.missing.append("setpriv (util-linux) is missing: cannot drop to slot uids")
    else:
        iso.missing.append("not running as root: no per-slot uids, no cgroups")
    iso.cgroup_version = cgroups.detect_version(cgroup_group) if os.geteuid() == 0 else None
    if iso.cgroup_version is None and os.geteuid() == 0:
        iso.missing.append("no writable cgroup hierarchy (memory, pids, cpu, freezer)")
    iso.seccomp_filter = seccomp.build_filter()
    if iso.seccomp_filter is None:
        iso.missing.append(
            f"no seccomp filter for {platform.machine()} (tables exist for {', '.join(seccomp.TABLES)})"
        )
    if iso.bwrap:
        full = iso.switch_uid and iso.cgroup_version and iso.seccomp_filter is not None
        iso.level = "full" if full else "namespaces"
    _check_required(iso, require)
    return iso


def _check_required(iso, require):
    if require and LEVELS.index(iso.level) < LEVELS.index(require):
        raise IsolationUnavailable(f"SANDBOX_REQUIRE={require} but this host gives {iso.describe()}")


_private_launchers = {}  # cgroup group -> this process's own launcher


def _through_launcher(python, prefix, socket_path, cgroup_group):
    """Isolation as the launcher reports it. A worker running as root without a socket starts
    its own launcher, once per process and cgroup group (it exits with the process). The
    launcher hands over the host's slot-uid lock file: this worker leases its uids there, and
    the launcher runs environments only as uids their worker holds."""
    private = not socket_path
    if private:
        launcher = _private_launchers.get(cgroup_group)
        if launcher is None:
            launcher = _private_launchers[cgroup_group] = Launcher.start_private(python, cgroup_group)
    else:
        launcher = Launcher(socket_path)
    try:
        if uidlease.has_lock_file():
            info, lock_fd = launcher.hello(), None
        else:
            info, lock_fd = launcher.hello(with_lock=True)
    except (OSError, RuntimeError) as exc:
        if private:
            launcher.close()
            _private_launchers.pop(cgroup_group, None)
        raise IsolationUnavailable(f"the sandbox launcher is not available: {exc}") from None
    if lock_fd is not None:
        uidlease.use_lock_file(lock_fd)
    return Isolation(
        level=info["level"],
        python=python,
        python_prefix=prefix,
        cgroup_version=info["cgroup_version"],
        seccomp_filter=seccomp.build_filter(),
        switch_uid=True,
        missing=list(info["missing"]),
        cgroup_group=info.get("cgroup_group") or cgroup_group,
        launcher=launcher,
    )


def _bwrap_works(iso):
    probe = [
        iso.bwrap,
        "--unshare-pid",
        "--unshare-net",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        iso.python,
        "-I",
        "-S",
        "-c",
        "pass",
    ]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class LaunchSpec:
    """What one environment needs to start: its argv, the fds it inherits, its child setup."""

    argv: list[str]
    env: dict
    pass_fds: tuple
    preexec: object


def _ancestors(path):
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def launch_spec(iso, *, env, uid, cgroup_paths, seccomp_fd, tmp_bytes, rlimits, opt_dir=None):
    """Build the command for one environment. fds 3 and 4 are set up by the caller. `opt_dir`,
    the function's layers, is mounted read-only at /opt."""
    bootstrap = str(RUNTIME_DIR / "bootstrap.py")
    if iso.bwrap is None:
        argv = [iso.python, "-I", "-S", "-u", bootstrap]
        return LaunchSpec(argv, env, (), _child_setup(cgroup_paths, rlimits))
    argv = [
        iso.bwrap,
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--hostname",
        "localhost",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/sbin",
        "/sbin",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "0755",
        "--dir",
        "/var",
    ]
    for ancestor in _ancestors(iso.python_prefix + "/x"):
        argv += ["--perms", "0755", "--dir", ancestor]
    argv += [
        "--ro-bind",
        iso.python_prefix,
        iso.python_prefix,
        "--symlink",
        iso.python_prefix,
        "/var/lang",
        "--ro-bind",
        str(RUNTIME_DIR),
        "/var/runtime",
        *_opt_mount(opt_dir),
        "--size",
        str(tmp_bytes),
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--size",
        str(64 << 20),
        "--perms",
        "1777",
        "--tmpfs",
        TASK_ROOT,
        "--chdir",
        TASK_ROOT,
    ]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    pass_fds = ()
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
        pass_fds = (seccomp_fd,)
    if iso.switch_uid:
        argv += [
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_SETPCAP",
            "--",
            shutil.which("setpriv"),
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    else:
        argv += ["--cap-drop", "ALL"]
    argv += ["--", iso.python, "-I", "-S", "-u", "/var/runtime/bootstrap.py"]
    return LaunchSpec(argv, {}, pass_fds, _child_setup(cgroup_paths, rlimits))


def _opt_mount(opt_dir):
    """Layers at /opt, read-only (an empty /opt without layers, as on Lambda). The directory must be
    named by its real path: a symbolic link anywhere in it could point the mount elsewhere."""
    if opt_dir is None:
        return ["--perms", "0755", "--dir", "/opt"]
    return ["--ro-bind", checked_layers_dir(opt_dir), "/opt"]


def checked_layers_dir(opt_dir):
    """`opt_dir` when it is an absolute path free of symbolic links (what either spawn path
    mounts at /opt); else ValueError."""
    if not os.path.isabs(opt_dir) or os.path.realpath(opt_dir) != os.path.normpath(opt_dir):
        raise ValueError(f"the layers directory {opt_dir!r} is not an absolute path free of links")
    return opt_dir


def _child_setup(cgroup_paths, rlimits):
    """Runs between fork and exec, as root: join the cgroups, set rlimits. C calls only."""
    paths = list(cgroup_paths)
    limits = list(rlimits.items())
    setrlimit = resource.setrlimit
    join = cgroups.join

    def setup():
        join(paths)
        for which, value in limits:
            setrlimit(which, (value, value))

    return setup
