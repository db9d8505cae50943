"""A real Coldstart server (daphne + embedded sandbox worker, its own SQLite file, lessons synced)
and Chromium, for the lessons' end-to-end tests."""

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

import pytest

from sandbox import cgroups
from tests.sandbox_helpers import processes_of_uids

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
SLOT_UID_BASE = 65000
MAX_ENVIRONMENTS = 8
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTRUCTOR = ("teacher", "a-long-password")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.1)  # polling a socket that is not up yet, not waiting for the page
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="package")
def lessons_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lessons-server")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        SQLITE_PATH=str(workdir / "db.sqlite3"),
        SANDBOX_SLOT_UID_BASE=str(SLOT_UID_BASE),
        SANDBOX_MAX_ENVIRONMENTS=str(MAX_ENVIRONMENTS),
        PYTHONUNBUFFERED="1",
    )
    for command in (
        ["migrate", "--noinput", "-v", "0"],
        ["sync_lessons"],
        ["create_instructor", INSTRUCTOR[0], "--password", INSTRUCTOR[1]],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
        )
    port = _free_port()
    log = (workdir / "daphne.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base + "/healthz", process)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
        uids = {SLOT_UID_BASE + n for n in range(MAX_ENVIRONMENTS)}
        deadline = time.monotonic() + 5  # sandboxes die with their parent; let the kernel reap them
        while (leftovers := processes_of_uids(uids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if leftovers:
            # Known server-side gap (reported): environments frozen between invocations are not
            # thawed and killed when daphne gets SIGTERM. Sweep them like the engine tests do,
            # then insist that nothing survives the sweep.
            described = [_describe(pid) for pid in leftovers]
            warnings.warn(f"sandbox processes outlived the server: {described}", stacklevel=1)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            cgroups.sweep_stale()
            deadline = time.monotonic() + 5
            while (leftovers := processes_of_uids(uids)) and time.monotonic() < deadline:
                time.sleep(0.05)
        assert not leftovers, f"sandbox processes survived even the sweep: {leftovers}"


def _describe(pid):
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/status").read_text()
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        state = next(line.split(None, 1)[1] for line in status.splitlines() if line.startswith("State:"))
        return f"{pid} ppid={ppid} state={state} {cmd[:120]}"
    except (OSError, StopIteration):
        return str(pid)


# Package scope, not session: while sync Playwright is open it keeps an event loop running in
# the main thread, and every asyncio.run() in later test packages would fail.
@pytest.fixture(scope="package")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, lessons_server):
    contexts = []

    def make(width=1440, height=900):
        context = chromium.new_context(base_url=lessons_server, viewport={"width": width, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
