"""The worker's side of the launcher (sandbox/launcher): ask it for an environment and hold what
it hands back.

The worker runs unprivileged. It gets, per environment, over one connection: the three pipes
(events in, messages and output out), a status pipe (the runtime's wait status, written by
the environment's init), a pidfd of the environment's first process, and four cgroup files
opened for it: freeze/thaw, the memory peak, the OOM count, the CPU quota (lowered after
init). Everything else (the other limits, the kill and removal) is the launcher's.

Without a launcher socket configured, a worker running as root starts a private launcher of its
own (tests, benchmarks, `manage.py invoke`), which exits when the worker does.
"""

import asyncio
import atexit
import contextlib
import os
import select
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from sandbox.launcher import protocol

LAUNCHER_MAIN = Path(__file__).resolve().parent.parent / "launcher" / "__main__.py"
CONNECT_RETRY_S = 5.0  # a supervised launcher is restarted within this
RPC_TIMEOUT_S = 15.0


class LauncherUnavailable(RuntimeError):
    pass


def wait_readable(fd, timeout=None):
    """Whether `fd` becomes readable within `timeout` seconds (None: wait). poll(), not select():
    a worker holding a class's environments has descriptors past select()'s 1024 ("filedescriptor
    out of range in select()" failed invocations in bench/classroom.py)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999))))


class Launcher:
    """Where the launcher listens; for a private one, also its process."""

    def __init__(self, path, python=None, private=False):
        self.path = str(path)
        self.python = python
        self.private = private
        self.process = None
        self._parent_w = None
        self.info = {}

    @classmethod
    def start_private(cls, python, cgroup_group=None, spares=None):
        directory = tempfile.mkdtemp(prefix="coldstart-launcher-")
        launcher = cls(Path(directory) / "launcher.sock", python, private=True)
        launcher.spares = spares
        launcher.cgroup_group = cgroup_group
        launcher._spawn()
        atexit.register(launcher.close)
        return launcher

    spares = None  # a private launcher's --spares (None: its default)
    cgroup_group = None  # a private launcher's --cgroup-group (None: its default)

    def _spawn(self):
        parent_r, parent_w = os.pipe()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        extra = [] if self.spares is None else ["--spares", str(self.spares)]
        if self.cgroup_group:
            extra += ["--cgroup-group", self.cgroup_group]
        self.process = subprocess.Popen(
            [self.python, "-I", "-S", "-u", str(LAUNCHER_MAIN), "--socket", self.path,
             "--allow-uid", str(os.getuid()), "--parent-fd", str(parent_r), *extra],
            env={}, pass_fds=(parent_r,), stdin=subprocess.DEVNULL,
        )
        os.close(parent_r)
        if self._parent_w is not None:
            os.close(self._parent_w)
        self._parent_w = parent_w  # held open for our life: its end tells the launcher to stop
        os.set_inheritable(parent_w, False)

    def _connect(self):
        deadline = time.monotonic() + CONNECT_RETRY_S
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
            try:
                sock.connect(self.path)
                return sock
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                sock.close()
                if self.private and self.process is not None and self.process.poll() is not None:
                    self.process = None
                    self._spawn()  # ours died: its environments died with it; start another
                if time.monotonic() > deadline:
                    raise LauncherUnavailable(f"no launcher at {self.path}: {exc}") from None
                time.sleep(0.02)

    def call(self, sock, message, timeout=RPC_TIMEOUT_S, keep_fds=False):
        """One request and its reply, blocking (a few hundred microseconds). With `keep_fds`:
        (reply, the descriptors that came with it)."""
        protocol.send(sock, message)
        if not wait_readable(sock.fileno(), timeout):
            raise LauncherUnavailable(f"the launcher did not answer {message['op']}")
        reply, fds = protocol.receive(sock)
        if not keep_fds or reply is None or not reply.get("ok"):
            protocol.close_all(fds)
            fds = []
        if reply is None:
            raise LauncherUnavailable("the launcher closed the connection")
        if not reply.get("ok"):
            raise LauncherUnavailable(f"the launcher refused {message['op']}: {reply.get('error')}")
        return (reply, fds) if keep_fds else reply

    def hello(self, with_lock=False):
        """What the launcher offers; `with_lock`: also the host's slot-uid lock file (an open
        descriptor, or None), which the caller must keep open (sandbox/engine/uidlease.py)."""
        sock = self._connect()
        try:
            request = {"op": "hello", "uid_lock": int(with_lock)}
            info, fds = self.call(sock, request, timeout=60, keep_fds=True)
        finally:
            sock.close()
        self.info = info
        if not with_lock:
            protocol.close_all(fds)  # none: the lock file comes only when asked for
            return info
        protocol.close_all(fds[1:])
        return info, (fds[0] if fds else None)

    async def create(self, layers=None, **request):
        """A new environment: (Launched, its fds by name). Runs on the event loop. `layers`: a
        directory to mount read-only at /opt (sent as a descriptor)."""
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(None, self._connect)
        try:
            sock.setblocking(False)
            if layers is None:
                protocol.send(sock, {"op": "create", "layers": 0, **request})
            else:
                directory = os.open(layers, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    protocol.send(sock, {"op": "create", "layers": 1, **request}, [directory])
                finally:
                    os.close(directory)
            arrived = loop.create_future()
            loop.add_reader(sock.fileno(), lambda: arrived.done() or arrived.set_result(None))
            try:
                await asyncio.wait_for(arrived, RPC_TIMEOUT_S)
            finally:
                loop.remove_reader(sock.fileno())
            reply, fds = protocol.receive(sock)
        except BaseException:
            sock.close()
            raise
        if reply is None or not reply.get("ok") or len(fds) not in (
            protocol.REPLY_FDS_WITHOUT_CGROUP, len(protocol.REPLY_FDS)):
            protocol.close_all(fds)
            sock.close()
            error = reply.get("error") if isinstance(reply, dict) else "connection closed"
            raise LauncherUnavailable(f"the launcher could not create an environment: {error}")
        named = dict(zip(protocol.REPLY_FDS, fds, strict=False))
        sock.setblocking(True)
        return Launched(self, sock, reply["pid"], named)

    def close(self):
        """Stop a private launcher (its environments die with it) and remove its directory."""
        if self._parent_w is not None:
            os.close(self._parent_w)
            self._parent_w = None
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.private:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.path))


class Launched:
    """One environment as the launcher handed it over: its connection and descriptors."""

    def __init__(self, launcher, sock, pid, fds):
        self.launcher = launcher
        self.sock = sock
        self.pid = pid
        self.fds = fds
        self.process = LaunchedProcess(pid, fds["pidfd"], fds["status"])
        self.cgroup = DelegatedCgroup(self, fds) if "cpu" in fds else None

    def take(self, name):
        """Hand over ownership of one pipe (the caller closes it)."""
        return self.fds.pop(name)

    def watch(self, loop, on_lost):
        """Call `on_lost` if the launcher goes away (its end of the connection closes)."""
        self._loop = loop

        def readable():
            try:
                data = self.sock.recv(protocol.MAX_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.unwatch()
                on_lost()

        loop.add_reader(self.sock.fileno(), readable)

    def unwatch(self):
        """Stop watching the connection (on the event loop's thread)."""
        loop, self._loop = getattr(self, "_loop", None), None
        if loop is not None and self.sock is not None:
            loop.remove_reader(self.sock.fileno())

    def destroy(self):
        """Ask the launcher to kill everything and remove the cgroup; wait until it has. True
        when nothing was left behind. Without an answer (the launcher died), the environment
        died with it."""
        clean = False
        self.unwatch()
        if self.sock is not None:
            try:
                clean = self.launcher.call(self.sock, {"op": "destroy"}).get("clean", False)
            except (LauncherUnavailable, OSError, protocol.ProtocolError):
                pass
            self.sock.close()
            self.sock = None
        self.process.reap()
        for name in ("freeze", "peak", "oom", "cpu", "events", "messages", "output", "pidfd"):
            fd = self.fds.pop(name, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.process.close()
        return clean


class DelegatedCgroup:
    """The cgroup operations the worker does itself, on the files the launcher opened for it."""

    def __init__(self, launched, fds):
        self.launched = launched
        self.freeze_fd, self.peak_fd, self.oom_fd, self.cpu_fd = (
            fds["freeze"], fds["peak"], fds["oom"], fds["cpu"])
        self.version = launched.launcher.info.get("cgroup_version") or 1
        self._frozen, self._thawed = (b"FROZEN", b"THAWED") if self.version == 1 else (b"1", b"0")

    def configure(self, *args):
        pass  # done by the launcher when it created the group

    def set_cpu_quota(self, quota_us, period_us):
        """The quota after init (init itself had a full vCPU)."""
        value = str(quota_us) if self.version == 1 else f"{quota_us} {period_us}"
        os.pwrite(self.cpu_fd, value.encode(), 0)

    def freeze(self):
        os.pwrite(self.freeze_fd, self._frozen, 0)

    def thaw(self):
        os.pwrite(self.freeze_fd, self._thawed, 0)

    def reset_peak(self):
        if self.version == 1:
            os.pwrite(self.peak_fd, b"0", 0)
        else:
            with contextlib.suppress(OSError):  # kernels >= 6.12 reset memory.peak per open file
                os.pwrite(self.peak_fd, b"reset", 0)

    def peak_memory_bytes(self):
        try:
            return int(os.pread(self.peak_fd, 64, 0))
        except (OSError, ValueError):
            return 0

    def oom_kills(self):
        try:
            text = os.pread(self.oom_fd, 4096, 0).decode()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def destroy(self):
        return self.launched.destroy()


class LaunchedProcess:
    """A Popen-like view of an environment: alive until its pidfd is readable; its return code
    comes from the runtime's wait status, which the environment's init wrote before exiting
    (none written: it was killed, like a runtime killed by SIGKILL)."""

    def __init__(self, pid, pidfd, status_fd):
        self.pid = pid
        self.pidfd = pidfd
        self.status_fd = status_fd
        self.returncode = None

    def poll(self):
        if self.returncode is None and self.pidfd is not None and wait_readable(self.pidfd, 0):
            self._read_status()
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None and self.pidfd is not None:
            if not wait_readable(self.pidfd, timeout):
                raise subprocess.TimeoutExpired("environment", timeout)
            self._read_status()
        return self.returncode

    def _read_status(self):
        data = b""
        with contextlib.suppress(OSError):
            data = os.read(self.status_fd, 4)
        if len(data) == 4:
            self.returncode = os.waitstatus_to_exitcode(struct.unpack("=i", data)[0])
        else:
            self.returncode = -9

    def reap(self):
        if self.returncode is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.wait(timeout=0)
            if self.returncode is None:
                self.returncode = -9

    def close(self):
        """Close the status pipe. The pidfd belongs to whoever took it (the environment)."""
        if self.status_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.status_fd)
        self.status_fd = None
