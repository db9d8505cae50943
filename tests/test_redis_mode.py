"""The department set-up: Redis channel layer, a separate `runworker sandbox` process and daphne.

Real processes, a real redis-server; the same code paths as the embedded default.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers():
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    wait_for(answers, what="redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def site(redis_url, tmp_path_factory):
    """daphne + a separate sandbox worker, sharing a temporary SQLite database."""
    db = tmp_path_factory.mktemp("db") / "db.sqlite3"
    env = dict(
        os.environ,
        REDIS_URL=redis_url,
        SQLITE_PATH=str(db),
        SANDBOX_SLOT_UID_BASE="62500",
        WORKER_STALE_SECONDS="2",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    token = subprocess.run(
        [*manage, "create_api_token", "redis-tester"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = []

    def start_worker():
        worker = subprocess.Popen(
            [*manage, "runworker", "sandbox"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers.append(worker)
        return worker

    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: urllib.request.urlopen(base + "/healthz", timeout=1).status == 200, what="daphne")
    yield {"base": base, "token": token, "start_worker": start_worker}
    for process in [web, *workers]:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in [web, *workers]:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def api(site, method, path, body=None, timeout=60):
    request = urllib.request.Request(
        site["base"] + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {site['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_an_invocation_runs_on_a_separate_worker_through_redis(site):
    worker = site["start_worker"]()
    code = "def handler(event, context):\n    print('via redis', event['n'])\n    return event['n'] * 2\n"
    status, created = api(site, "POST", "/api/functions", {"name": "redis-fn", "code": code})
    assert status == 201
    status, first = api(site, "POST", f"/api/functions/{created['slug']}/invocations", {"event": {"n": 21}})
    assert status == 200, first
    assert first["status"] == "ok" and first["result"] == 42 and first["cold"] is True
    assert "via redis 21" in first["logs"]
    status, second = api(site, "POST", f"/api/functions/{created['slug']}/invocations", {"event": {"n": 1}})
    assert second["cold"] is False  # the same worker keeps the function's warm environment
    worker.kill()
    worker.wait(10)


def test_an_invocation_whose_worker_dies_is_failed_with_a_reason_within_seconds(site):
    worker = site["start_worker"]()
    code = "import time\ndef handler(event, context):\n    time.sleep(30)\n"
    status, created = api(site, "POST", "/api/functions", {"name": "doomed", "code": code, "timeout_s": 60})
    assert status == 201

    import threading

    outcome = {}

    def call():
        outcome["response"] = api(
            site, "POST", f"/api/functions/{created['slug']}/invocations", {"event": {}}, timeout=90
        )

    caller = threading.Thread(target=call)
    caller.start()
    status, listing = 0, {"invocations": []}
    wait_for(
        lambda: api(site, "GET", f"/api/functions/{created['slug']}/invocations")[1]["invocations"],
        what="the invocation to be queued",
    )
    time.sleep(1.0)  # let the worker claim it and start the sandbox
    killed_at = time.monotonic()
    worker.kill()
    caller.join(60)
    elapsed = time.monotonic() - killed_at
    status, body = outcome["response"]
    assert status == 503
    assert "stopped" in body["error"]["message"] or "picked" in body["error"]["message"]
    assert elapsed < 15
    status, listing = api(site, "GET", f"/api/functions/{created['slug']}/invocations?limit=1")
    assert listing["invocations"][0]["status"] == "failed"
