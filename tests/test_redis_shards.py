"""Sharded workers on one host (SANDBOX_WORKER_SHARDS=2): `runworker sandbox-0` and
`runworker sandbox-1`, real processes through Redis, each running its functions under uids of
its own shard's range, never the other's."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.services import MissingServer, RedisServer, free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.redis
UID_BASE, MAX_ENVIRONMENTS = 62700, 8  # shard 0: 62700-62703, shard 1: 62704-62707
WHOAMI = "import os\n\ndef handler(event, context):\n    return os.getuid()\n"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except MissingServer as error:
        pytest.fail(str(error))
    yield server.url
    server.stop()


def api(site, method, path, body=None):
    request = urllib.request.Request(
        site["base"] + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {site['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def sharded_site(redis_url, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "db.sqlite3"
    env = dict(
        os.environ,
        REDIS_URL=redis_url,
        SQLITE_PATH=str(db),
        SANDBOX_SLOT_UID_BASE=str(UID_BASE),
        SANDBOX_MAX_ENVIRONMENTS=str(MAX_ENVIRONMENTS),
        SANDBOX_WORKER_SHARDS="2",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    token = subprocess.run(
        [*manage, "create_api_token", "shard-tester"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT, "env": env}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            **quiet,
        ),
        subprocess.Popen([*manage, "runworker", "sandbox-0"], **quiet),
        subprocess.Popen([*manage, "runworker", "sandbox-1"], **quiet),
    ]
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: urllib.request.urlopen(base + "/healthz", timeout=1).status == 200, what="daphne")
    yield {"base": base, "token": token, "db": db}
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_each_shard_s_worker_runs_its_functions_in_its_own_uid_range(sharded_site):
    seen = {}
    for n in range(4):  # consecutive ids: both shards get functions
        status, created = api(sharded_site, "POST", "/api/functions", {"name": f"whoami-{n}", "code": WHOAMI})
        assert status == 201, created
        status, record = api(
            sharded_site, "POST", f"/api/functions/{created['slug']}/invocations", {"event": {}}
        )
        assert status == 200 and record["status"] == "ok", record
        with sqlite3.connect(sharded_site["db"]) as db:
            (function_id,) = db.execute(
                "SELECT id FROM sandbox_function WHERE slug = ?", [created["slug"]]
            ).fetchone()
        seen.setdefault(function_id % 2, set()).add(record["result"])  # channels.worker_channel

    per_shard = MAX_ENVIRONMENTS // 2
    for shard, uids in seen.items():
        first = UID_BASE + shard * per_shard
        assert uids <= set(range(first, first + per_shard)), (shard, uids)
    assert len(seen) == 2
