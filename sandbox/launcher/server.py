"""The launcher: accept a worker's connection, check who it is and what it asks, create or
destroy one environment, hand back its pipes. One thread, one selector, no blocking call that
could wait on a worker or an environment.

A connection carries one environment for its whole life: when it closes (the worker exited,
or crashed) the environment is destroyed. When the launcher exits, every environment dies
with it (parent-death signals; see child.py).

Started by its supervisor (__main__.py) with the socket, cgroup directories and seccomp filter
already open. It imports as little as it can: every environment is a copy of this process, and
each extension module it loads stays mapped in every environment, making each fork there
slower. So `_socket` and `select.epoll` rather than `socket` and `selectors` (which bring
`array`, `math`), and ctypes rather than `resource`.

    python -I -S -u server.py --listen-fd FD --uid-lock-fd FD [--cgroup-version V
        --cgroup NAME=FD ... --cgroup-group NAME] [--seccomp-fd FD] [--allow-uid UID ...]
        [--min-uid N] [--watch-fd FD ...]
"""

import itertools
import os
import select
import signal
import struct
import sys
import time
from _socket import AF_UNIX, SO_PEERCRED, SOCK_SEQPACKET, SOL_SOCKET, socketpair
from _socket import socket as Socket

if __name__ == "__main__":  # run as a script: -I leaves the project out of the path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from sandbox.launcher import child, linux, protocol, rootfs  # noqa: E402
from sandbox.launcher.cgroup import EnvironmentCgroup, Hierarchy  # noqa: E402

POLL_S = 0.005  # how often a dying environment's cgroup is checked until empty
KILL_TIMEOUT_S = 10.0
# Spares: environments prepared before anyone asks (--spares of them), within these limits
# until assigned. A spare that dies unassigned pauses the making of new ones for a while.
DEFAULT_SPARES = 4
SPARE_MEMORY_BYTES = 64 << 20
SPARE_PIDS = 8
SPARE_CPU_PERIOD_US = 20_000
SPARE_RETRY_S = 1.0
DEFAULT_TMP_BYTES = 512 << 20
_PEERCRED = struct.Struct("3i")  # pid, uid, gid


class Settings:
    """What the launcher was started with and found at start-up (see __main__.py)."""

    def __init__(self, *, allowed_uids, min_uid, hierarchy, seccomp_filter, last_capability,
                 title, python, python_prefix, level, missing, spares=DEFAULT_SPARES,
                 uid_lock_fd=None, cgroup_group="", host_mounts=None):
        self.spares = spares
        self.allowed_uids = frozenset(allowed_uids)
        self.min_uid = min_uid
        self.hierarchy = hierarchy  # cgroup.Hierarchy, or None without cgroups
        self.seccomp_filter = seccomp_filter
        self.last_capability = last_capability
        self.title = title
        self.python = python
        self.python_prefix = python_prefix
        self.level = level
        self.missing = list(missing)
        self.uid_lock_fd = uid_lock_fd  # the host's slot-uid lock file (sandbox/engine/uidlease.py)
        self.cgroup_group = cgroup_group
        self.host_mounts = host_mounts  # the host's mount namespace (layers are cloned from it)


class Environment:
    """The launcher's record of one environment."""

    def __init__(self, conn, name, cgroup):
        self.conn = conn
        self.name = name
        self.cgroup = cgroup
        self.pid = None
        self.pidfd = self.status_r = self.assign = None  # ours until handed over
        self.reaped = False
        self.dying_since = None
        self.reply_when_gone = False


class Launcher:
    def __init__(self, settings, listener, watch_fds=(), notes=None):
        self.settings = settings
        self.listener = listener
        self.watch_fds = list(watch_fds)
        self.notes = notes  # to the supervisor: "+name" / "-name" as environments come and go
        self.pid = os.getpid()
        self.poll = select.epoll()
        self.handlers = {}  # fd -> callable
        self.by_conn = {}  # socket -> Environment (or None before `create`)
        self.by_pid = {}  # an environment's first process -> Environment
        self.spares = []  # environments made ahead of time, waiting for a request
        self.spare_ids = itertools.count(1)
        self.spares_paused_until = 0.0
        self.tmp_bytes = DEFAULT_TMP_BYTES
        self.names = set()
        self.dying = []
        self.running = True

    # ------------------------------------------------------------------ loop
    def _watch(self, fd, handler):
        self.handlers[fd] = handler
        self.poll.register(fd, select.EPOLLIN)

    def _unwatch(self, fd):
        self.handlers.pop(fd, None)
        try:
            self.poll.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def serve(self):
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, self._on_signal)
        self.listener.setblocking(False)
        self._watch(self.listener.fileno(), self._accept)
        self._watch(wake_r, self._woken)
        for fd in self.watch_fds:
            self._watch(fd, self._parent_gone)
        while self.running:
            timeout = POLL_S if self.dying else -1
            if len(self.spares) < self.settings.spares:
                timeout = 0 if time.monotonic() >= self.spares_paused_until else POLL_S
            try:
                events = self.poll.poll(timeout)
            except InterruptedError:
                events = []
            for fd, _ in events:
                handler = self.handlers.get(fd)
                if handler is not None:
                    handler(fd)
            self._reap()
            self._check_dying()
            if not events:
                self._replenish()  # only when no request is waiting
        self._shutdown()

    def _on_signal(self, number, frame):
        if number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self.running = False

    def _woken(self, fd):
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass

    def _parent_gone(self, fd):
        self.running = False

    def _reap(self):
        """Environments' first processes are our children; orphaned inits become ours too."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            environment = self.by_pid.pop(pid, None)
            if environment is not None:
                environment.reaped = True
                if environment in self.spares:  # died before it was needed: its set-up failed
                    self.spares.remove(environment)
                    self._kill(environment)
                    self.spares_paused_until = time.monotonic() + SPARE_RETRY_S

    # ------------------------------------------------------------------ connections
    def _accept(self, fd):
        try:
            conn = Socket(fileno=self.listener._accept()[0])
        except (BlockingIOError, InterruptedError):
            return
        pid, uid, _ = _PEERCRED.unpack(conn.getsockopt(SOL_SOCKET, SO_PEERCRED, 12))
        if uid not in self.settings.allowed_uids:
            conn.close()
            return
        conn.setblocking(False)
        self.by_conn[conn] = None
        self._watch(conn.fileno(), lambda _, c=conn, p=pid, u=uid: self._request(c, p, u))

    def _request(self, conn, peer_pid, peer_uid):
        try:
            message, fds = protocol.receive(conn)
        except BlockingIOError:
            return
        except (protocol.ProtocolError, OSError) as exc:
            self._refuse(conn, str(exc))
            return
        if message is None:
            protocol.close_all(fds)
            self._closed(conn)
            return
        try:
            request = protocol.validate(message)
            if len(fds) != (request.get("layers", 0) if request["op"] == "create" else 0):
                raise protocol.ProtocolError("unexpected file descriptors")
            layers = protocol.checked_directory(fds[0]) if fds else None
        except protocol.ProtocolError as exc:
            protocol.close_all(fds)
            self._refuse(conn, str(exc))
            return
        environment = self.by_conn.get(conn)
        op = request["op"]
        if op == "hello" and environment is None:
            lock = [self.settings.uid_lock_fd] if request["uid_lock"] else []
            lock = [fd for fd in lock if fd is not None]
            self._reply(conn, self._hello(), lock)
        elif op == "create" and environment is None:
            try:
                self._create(conn, request, peer_pid, peer_uid, layers)
            finally:
                protocol.close_all([layers] if layers is not None else [])
        elif op == "destroy" and environment is not None:
            environment.reply_when_gone = True
            self._kill(environment)
        else:
            self._refuse(conn, f"{op} is not allowed now")

    def _reply(self, conn, message, fds=()):
        try:
            protocol.send(conn, message, fds)
        except OSError:
            pass  # the worker is gone; its connection's end destroys the environment

    def _refuse(self, conn, reason):
        self._reply(conn, {"ok": False, "error": reason})
        self._closed(conn)

    def _closed(self, conn):
        environment = self.by_conn.pop(conn, None)
        self._unwatch(conn.fileno())
        if environment is not None:
            environment.reply_when_gone = False
            self._kill(environment)
        conn.close()

    def _hello(self):
        s = self.settings
        return {"ok": True, "level": s.level, "missing": s.missing, "pid": self.pid,
                "cgroup_version": s.hierarchy.version if s.hierarchy else None,
                "cgroup_group": s.cgroup_group,
                "python": s.python, "python_prefix": s.python_prefix,
                "spares": len(self.spares), "spares_wanted": s.spares}

    # ------------------------------------------------------------------ environments
    def _make_spare(self):
        """Fork an environment ahead of time: joined to its cgroup, in its namespaces, with its
        mounts, its runtime waiting for an assignment. None when that fails."""
        s = self.settings
        name = f"w{self.pid}-s{next(self.spare_ids)}"
        opened, cgroup = [], None
        try:
            join = []
            if s.hierarchy is not None:
                cgroup = EnvironmentCgroup(s.hierarchy, name)
                period = SPARE_CPU_PERIOD_US
                cgroup.configure(SPARE_MEMORY_BYTES, SPARE_PIDS, period, period)
                join = cgroup.join_fds()
                opened += join
            ours, theirs = socketpair(AF_UNIX, SOCK_SEQPACKET)
            opened.append(theirs.detach())
            status_r, status_w = os.pipe2(os.O_CLOEXEC)
            opened += [status_w]
            plan = child.Plan(tmp_bytes=self.tmp_bytes, join_fds=join, assignment=opened[-2],
                              status=status_w, seccomp_filter=s.seccomp_filter,
                              last_capability=s.last_capability, title=s.title, python=s.python,
                              host_mounts=s.host_mounts)
            pid = os.fork()
            if pid == 0:
                try:
                    child.monitor(plan, self.pid)  # never returns...
                finally:
                    os._exit(child.SETUP_FAILED)  # ...and a fork never goes back to the loop
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            protocol.close_all(opened)
            if cgroup is not None:
                cgroup.remove()
            print(f"coldstart launcher: cannot prepare an environment: {exc}", file=sys.stderr)
            self.spares_paused_until = time.monotonic() + SPARE_RETRY_S
            return None
        protocol.close_all(opened)
        spare = Environment(None, name, cgroup)
        spare.pid, spare.pidfd, spare.status_r, spare.assign = pid, pidfd, status_r, ours
        self.by_pid[pid] = spare
        self.names.add(name)
        self._note(f"+{name}")
        return spare

    def _replenish(self):
        if len(self.spares) < self.settings.spares and time.monotonic() >= self.spares_paused_until:
            spare = self._make_spare()
            if spare is not None:
                self.spares.append(spare)

    def _create(self, conn, request, peer_pid, peer_uid, layers):
        s = self.settings
        uid = request["uid"]
        if uid < s.min_uid or uid == peer_uid or uid in s.allowed_uids:
            self._refuse(conn, f"uid {uid} is not a slot uid this launcher may use")
            return
        if not self._leased_by(uid, peer_pid):
            self._refuse(conn, f"uid {uid} is not leased by the asking worker (pid {peer_pid})")
            return
        name = f"w{peer_pid}-e{request['env']}"
        if name in self.names:
            self._refuse(conn, f"environment {name} exists")
            return
        self.tmp_bytes = request["tmp_bytes"]  # what later spares mount
        environment = self.spares.pop(0) if self.spares else self._make_spare()
        if environment is None:
            self._refuse(conn, f"cannot create {name}")
            return
        opened = []
        try:
            cgroup = environment.cgroup
            worker_cgroup_fds = ()
            if cgroup is not None:
                if cgroup.rename(name):
                    self._note(f"-{environment.name}")
                    self.names.discard(environment.name)
                    environment.name = name
                    self.names.add(name)
                    self._note(f"+{name}")
                period = request["cpu_period_us"]
                cgroup.configure(request["memory_mb"] << 20, request["pids_max"],
                                 request["init_quota_us"], period, min(request["quota_us"], period))
                worker_cgroup_fds = cgroup.worker_fds()
                opened += worker_cgroup_fds
            events_r, events_w = os.pipe2(os.O_CLOEXEC)
            messages_r, messages_w = os.pipe2(os.O_CLOEXEC)
            output_r, output_w = os.pipe2(os.O_CLOEXEC)
            opened += [events_r, events_w, messages_r, messages_w, output_r, output_w]
            task = {"uid": uid, "rlimits": _rlimits(request), "tmp_bytes": request["tmp_bytes"]}
            given_fds = [events_r, messages_w, output_w, *([layers] if layers is not None else [])]
            protocol.send(environment.assign, task, given_fds)
        except OSError as exc:
            protocol.close_all(opened)
            self.by_conn[conn] = environment
            environment.conn = conn
            self._refuse(conn, f"cannot create {name}: {exc}")
            return
        environment.assign.close()
        environment.assign = None
        environment.conn = conn
        self.by_conn[conn] = environment
        given = [events_w, messages_r, output_r, environment.status_r, environment.pidfd,
                 *worker_cgroup_fds]
        self._reply(conn, {"ok": True, "name": environment.name, "pid": environment.pid}, given)
        protocol.close_all(opened + [environment.status_r, environment.pidfd])
        environment.status_r = environment.pidfd = None

    def _leased_by(self, uid, pid):
        """Whether the worker `pid` holds the lease on slot uid `uid` (its lock on the uid's
        byte of the host's lock file): a worker runs environments only as its own uids."""
        fd = self.settings.uid_lock_fd
        if fd is None:
            return False
        try:
            return linux.lock_holder(fd, uid) == pid
        except OSError:
            return False

    def _note(self, text):
        if self.notes is not None:
            try:
                self.notes.send(text.encode())
            except OSError:
                pass

    def _kill(self, environment):
        """Kill the first process (it may not have joined the cgroup yet) and the cgroup."""
        if environment.dying_since is None:
            environment.dying_since = time.monotonic()
            self.dying.append(environment)
        if not environment.reaped:
            try:
                os.kill(environment.pid, signal.SIGKILL)  # its init dies with it, and so the rest
            except ProcessLookupError:
                pass
        if environment.cgroup is not None:
            environment.cgroup.kill()

    def _check_dying(self):
        """An environment is gone once its first process is reaped and its cgroup is empty
        and removed."""
        for environment in list(self.dying):
            cgroup = environment.cgroup
            late = time.monotonic() - environment.dying_since > KILL_TIMEOUT_S
            if not environment.reaped and not late:
                continue
            if cgroup is not None:
                if cgroup.pids():
                    if not late:
                        cgroup.kill()
                        continue
                elif not cgroup.remove() and not late:
                    continue
            self.dying.remove(environment)
            self.names.discard(environment.name)
            self._note(f"-{environment.name}")
            clean = cgroup is None or (not cgroup.pids() and cgroup.remove())
            if environment.reply_when_gone:
                self._reply(environment.conn, {"ok": True, "clean": clean})

    def _shutdown(self):
        for environment in [*self.spares, *(e for e in self.by_conn.values() if e is not None)]:
            environment.reply_when_gone = False
            self._kill(environment)
        deadline = time.monotonic() + 5
        while self.dying and time.monotonic() < deadline:
            time.sleep(POLL_S)
            self._reap()
            self._check_dying()
        for conn in list(self.by_conn):
            conn.close()


def _rlimits(request):
    """The runtime's rlimits: those of sandbox/engine/rlimits.py (tests/test_launcher.py
    checks they agree), with the requested number of open files."""
    memory_mb = request["memory_mb"]
    return [
        (linux.RLIMIT_CORE, 0),
        (linux.RLIMIT_NOFILE, request["nofile"]),
        (linux.RLIMIT_FSIZE, request["tmp_bytes"]),
        (linux.RLIMIT_NPROC, request["pids_max"]),
        (linux.RLIMIT_AS, max(4 << 30, memory_mb * 4 << 20)),
    ]


# ---------------------------------------------------------------------- start-up
RUNTIME_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runtime")


def _options(argv):
    """The few options the supervisor passes (no argparse: it would stay in every copy)."""
    options = {"allow-uid": [], "cgroup": [], "watch-fd": []}
    for name, value in zip(argv[::2], argv[1::2], strict=True):
        key = name.removeprefix("--")
        if isinstance(options.get(key), list):
            options[key].append(value)
        else:
            options[key] = value
    return options


def _import_runtime():
    """The runtime, imported from where environments see it (/var/runtime): its modules,
    tracebacks and source lines are the sandbox's."""
    sys.path[:] = [rootfs.RUNTIME_MOUNT, *(p for p in sys.path if p.startswith(sys.base_prefix))]
    import bootstrap  # noqa: F401
    import coldstart.buckets  # noqa: F401
    import coldstart.channel  # noqa: F401
    import lambda_core  # noqa: F401


def main(argv):
    import gc

    options = _options(argv)
    listener = Socket(fileno=int(options["listen-fd"]))
    os.set_inheritable(listener.fileno(), False)
    hierarchy = None
    missing = []
    if "cgroup-version" in options:
        fds = {}
        for item in options["cgroup"]:
            controller, _, fd = item.partition("=")
            fds[controller] = int(fd)
            os.set_inheritable(int(fd), False)
        hierarchy = Hierarchy(int(options["cgroup-version"]), fds)
    else:
        missing.append("no writable cgroup hierarchy (memory, pids, cpu, freezer)")
    uid_lock_fd = int(options["uid-lock-fd"]) if "uid-lock-fd" in options else None
    host_mounts = int(options["host-mounts-fd"]) if "host-mounts-fd" in options else None
    for fd in (uid_lock_fd, host_mounts):
        if fd is not None:
            os.set_inheritable(fd, False)
    seccomp_filter = None
    if "seccomp-fd" in options:
        fd = int(options["seccomp-fd"])
        seccomp_filter = b""
        while chunk := os.read(fd, 65536):
            seccomp_filter += chunk
        os.close(fd)
    else:
        missing.append("no seccomp filter for this architecture")
    notes = None
    if "notes-fd" in options:
        notes = Socket(fileno=int(options["notes-fd"]))
        os.set_inheritable(notes.fileno(), False)
    watch = [int(fd) for fd in options["watch-fd"]]
    for fd in watch:
        os.set_inheritable(fd, False)
    python = os.path.realpath(sys.executable)
    title = linux.argv_region()
    last_capability = linux.last_capability()
    linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)  # orphaned environment inits come back to us
    rootfs.build_template(sys.base_prefix, RUNTIME_DIR)
    _import_runtime()
    settings = Settings(
        allowed_uids={0, *(int(u) for u in options["allow-uid"])},
        min_uid=int(options.get("min-uid", 60000)),
        hierarchy=hierarchy,
        seccomp_filter=seccomp_filter,
        last_capability=last_capability,
        title=title,
        python=python,
        python_prefix=sys.base_prefix,
        level="full" if not missing else "namespaces",
        missing=missing,
        spares=int(options.get("spares", DEFAULT_SPARES)),
        uid_lock_fd=uid_lock_fd,
        host_mounts=host_mounts,
        cgroup_group=options.get("cgroup-group", ""),
    )
    linux.set_title(title, ["coldstart-launcher"])
    gc.collect()
    gc.freeze()  # what every environment inherits stays shared: no collection touches it
    Launcher(settings, listener, watch, notes).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
