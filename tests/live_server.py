"""A real Coldstart server as a subprocess: `manage.py migrate` on its own SQLite file, then
daphne exactly as `make run` starts it (`python -m config.serve`: daphne with the project's
WebSocket limits; embedded sandbox worker, nothing mocked)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

from tests.sandbox_helpers import processes_of_uids

REPO_ROOT = Path(__file__).resolve().parent.parent
APPLICATION = "config.asgi:application"

# Slot uids of this test process, far from every other range in use on a shared host (dev server
# 60000+, tests/conftest.py 61000..64199, bench 62000+, scale-out test 62500..62507, lessons 64000+,
# `manage.py invoke` tests 400000..799999) and distinct per pytest process, so concurrent runs
# never kill, count or sweep each other's sandboxes. Blocks of this base:
#   +0..+7 in-process worker tests, +8..+15 the browser tests' server, +16..+17 shutdown test,
#   +18..+25 the Pyodide browser tests' server, +26..+29 the two servers of tests/test_instances.py,
#   +30 the served room of tests/test_serve_the_room.py, +31 the classroom browser test's server,
#   +32..+33 the static files test's server, +34..+35 the log format test's servers,
#   +36..+38 the busy server of tests/lessons_browser/test_check_under_load.py.
PROCESS_UID_BASE = 1_000_000 + (os.getpid() % 60_000) * 40
SERVE = [sys.executable, "-m", "config.serve"]  # as the Makefile's `run` target


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, workdir, slot_uid_base, max_environments):
        self.workdir = Path(workdir)
        self.uids = {slot_uid_base + n for n in range(max_environments)}
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings",
            SQLITE_PATH=str(self.workdir / "db.sqlite3"),
            LAYERS_ROOT=str(self.workdir / "layers"),
            SANDBOX_SLOT_UID_BASE=str(slot_uid_base),
            SANDBOX_MAX_ENVIRONMENTS=str(max_environments),
            # A learner's provisioned share defaults to an eighth of the environments (1 of 8):
            # the Scaling test provisions two, as a learner on a full-size server may.
            LEARNER_PROVISIONED_CONCURRENCY="2",
            PYTHONUNBUFFERED="1",
        )
        self.process = None
        self.url = None

    def manage(self, *args):
        """Run `manage.py ARGS` against this server's database; its stdout."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    def start(self, bind=None, public_host=None):
        """daphne on 127.0.0.1; with `bind`, `manage.py serve` as `make run BIND=...` starts it,
        with PUBLIC_URL=http://<public_host>:<its port> when `public_host` is given."""
        self.manage("migrate", "--noinput", "-v", "0")
        port = free_port()
        self.log = (self.workdir / "daphne.log").open("wb")
        argv = [*SERVE, "-b", "127.0.0.1", "-p", str(port), APPLICATION]
        if bind is not None:
            self.env.update(BIND=bind, PORT=str(port), PYTHONIOENCODING="utf-8")
            if public_host:
                self.env["PUBLIC_URL"] = f"http://{public_host}:{port}"
            argv = [sys.executable, "manage.py", "serve"]
        self.process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_until_healthy()
        except Exception:
            self.stop()
            self.reap()
            raise
        return self

    def _wait_until_healthy(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.url}/healthz did not answer within {timeout} s")

    def stop(self):
        """SIGTERM, as a service manager stops it (SIGKILL only if it does not exit), and wait
        until it has exited -- without reaping it: until reap(), its pid stays in /proc, so
        another process's cgroups.sweep_stale() cannot mistake its sandboxes for stale ones
        while a test looks at what the stopped server left behind."""
        self._signal(signal.SIGTERM)
        if not self._wait_for_exit(timeout=10):
            self._signal(signal.SIGKILL)
            self._wait_for_exit(timeout=10)

    def reap(self):
        self.process.wait(timeout=10)
        self.log.close()

    def stop_and_sweep(self):
        """A test server's end: stop it; its sandboxes should die with it (idle ones sit frozen in
        their cgroup, where bwrap's --die-with-parent SIGKILL cannot act, see
        tests/test_server_shutdown.py), and any that did not are swept, with a warning."""
        self.stop()
        survivors = wait_until_gone(self.uids, timeout=2)
        self.reap()
        if survivors:
            warnings.warn(
                f"{len(survivors)} sandbox process(es) outlived the stopped server (pids {survivors}); "
                "removed by cgroups.sweep_stale()",
                stacklevel=2,
            )
        leftovers = sweep_sandboxes(self.uids)
        assert not leftovers, f"sandbox processes survived even cgroups.sweep_stale(): {leftovers}"

    def prepare_lessons(self, instructor):
        """What `make run` does before serving: migrate, load the lessons, an instructor."""
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("sync_lessons")
        self.manage("create_instructor", instructor[0], "--password", instructor[1])

    def _signal(self, signum):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _wait_for_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            flags = os.WEXITED | os.WNOWAIT | os.WNOHANG
            if os.waitid(os.P_PID, self.process.pid, flags) is not None:
                return True
            time.sleep(0.05)
        return False

    def sandbox_processes(self):
        return processes_of_uids(self.uids)


def wait_until_gone(uids, timeout):
    """Pids of `uids` still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    left = processes_of_uids(uids)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_of_uids(uids)
    return left


def sweep_sandboxes(uids):
    """Remove what a stopped server left, as the product recovers from a dead worker
    (cgroups.sweep_stale thaws and kills); returns the pids still alive after that."""
    from sandbox.engine import cgroups
    from sandbox.worker.config import cgroup_group

    cgroups.sweep_stale(cgroup_group())  # the servers of this checkout use its instance's group
    left = wait_until_gone(uids, timeout=10)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left
