"""A real Coldstart server (daphne on a free port, its own SQLite file) and Chromium, for the
"Run on: my browser" path (Pyodide in a Web Worker). Nothing is mocked."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
SLOT_UID_BASE = 66000  # apart from the other suites' slot uids
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PYODIDE = REPO_ROOT / "static" / "vendor" / "pyodide"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """{"url", "db"}: daphne on a free port over a freshly migrated SQLite database."""
    if not any(PYODIDE.glob("coldstart_runtime-*.whl")) or not (PYODIDE / "pyodide.asm.wasm").exists():
        pytest.fail("static/vendor/pyodide is missing: run `make assets` (scripts/vendor-assets.sh)")
    workdir = tmp_path_factory.mktemp("coldstart-pyodide-server")
    db = workdir / "db.sqlite3"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        SQLITE_PATH=str(db),
        SANDBOX_SLOT_UID_BASE=str(SLOT_UID_BASE),
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = _free_port()
    log = (workdir / "daphne.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            *("-b", "127.0.0.1", "-p", str(port)),
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
        _wait_until_healthy(f"{base}/healthz", process)
        yield {"url": base, "db": db}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


# Package scope, not session: while sync Playwright is open it keeps an event loop running in
# the main thread, and every asyncio.run() in later test packages would fail.
@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server["url"], viewport={"width": 1280, "height": 1150})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="package")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
