"""Stopping a real server (daphne with the embedded sandbox worker) takes its sandboxes with it."""

import json
import urllib.request

from tests.live_server import PROCESS_UID_BASE, LiveServer, sweep_sandboxes, wait_until_gone

SLOT_UID_BASE = PROCESS_UID_BASE + 16  # see tests/live_server.py
MAX_ENVIRONMENTS = 2


def post_json(url, token, body):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_stopping_the_server_leaves_no_sandbox_process_behind(tmp_path):
    server = LiveServer(tmp_path, SLOT_UID_BASE, MAX_ENVIRONMENTS).start()
    try:
        token = server.manage("create_api_token", "ada").strip()
        status, created = post_json(f"{server.url}/api/functions", token, {"name": "warm"})
        assert status == 201
        status, record = post_json(created["invoke_url"], token, {"event": {}})
        assert (status, record["status"]) == (200, "ok")
        assert server.sandbox_processes(), "no warm environment was kept after the invocation"
    finally:
        server.stop()
        survivors = wait_until_gone(server.uids, timeout=2)
        server.reap()
        leftovers = sweep_sandboxes(server.uids)
    assert not leftovers, f"sandbox processes survived even cgroups.sweep_stale(): {leftovers}"
    assert not survivors, f"sandbox processes outlived the stopped server: {survivors}"
