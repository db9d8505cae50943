"""Two Coldstart servers on one host (two checkouts, or two workers of one deployment) never
share slot uids, and never sweep or count each other's environment cgroups."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.engine import cgroups, uidlease
from tests.live_server import PROCESS_UID_BASE, LiveServer, wait_until_gone
from tests.sandbox_helpers import processes_of_uids, remove_cgroup_group

SLOT_UID_BASE = PROCESS_UID_BASE + 26  # see tests/live_server.py
MAX_ENVIRONMENTS = 2

HOLD = """
import sys, time
from sandbox.engine import uidlease
print(uidlease.lease(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]), flush=True)
sys.stdin.read()
"""


def hold_lease(base, size, path):
    """Another process holding a lease until its stdin closes; returns it and its block."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(base), str(size), str(path)],
        cwd=Path(__file__).resolve().parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, int(process.stdout.readline())


def test_a_second_process_gets_the_next_block_of_uids_and_the_first_again_once_it_is_free(tmp_path):
    path = tmp_path / "uids.lock"
    first, first_base = hold_lease(5000, 4, path)
    second, second_base = hold_lease(5000, 4, path)
    try:
        assert first_base == 5000
        assert second_base == 5004
        # An overlapping range is refused too, not only an identical one.
        assert uidlease.lease(5002, 4, path) == 5010
    finally:
        first.communicate("")
        second.communicate("")
    third, third_base = hold_lease(5000, 4, path)
    third.communicate("")
    assert third_base == 5000, "the block of a process that exited was not free again"


def test_a_sweep_only_removes_stale_cgroups_of_its_own_instance(isolation):
    if not isolation.cgroup_version:
        pytest.skip(f"needs cgroups; {isolation.describe()}")
    mine, theirs = f"coldstart-test-mine-{os.getpid()}", f"coldstart-test-theirs-{os.getpid()}"
    dead_pid = 2**22 + 1  # above pid_max's default: no process has it
    stale_mine = cgroups.Cgroup(f"w{dead_pid}-e1", isolation.cgroup_version, mine)
    stale_theirs = cgroups.Cgroup(f"w{dead_pid}-e1", isolation.cgroup_version, theirs)
    try:
        assert cgroups.sweep_stale(mine) == 1
        assert not any(d.exists() for d in stale_mine.dirs.values())
        assert all(d.exists() for d in stale_theirs.dirs.values()), "another instance's cgroup was swept"
    finally:
        stale_theirs.destroy()
        for group in (mine, theirs):
            for base in _group_dirs(isolation.cgroup_version, group):
                base.rmdir()


def test_the_environments_of_a_worker_that_exited_but_was_not_reaped_yet_are_stale(isolation):
    if not isolation.cgroup_version:
        pytest.skip(f"needs cgroups; {isolation.describe()}")
    group = f"coldstart-test-zombie-{os.getpid()}"
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for_zombie(exited.pid)
    try:
        cgroup = cgroups.Cgroup(f"w{exited.pid}-e1", isolation.cgroup_version, group)
        assert cgroups.sweep_stale(group) == 1
        assert not any(d.exists() for d in cgroup.dirs.values())
    finally:
        exited.wait()
        for base in _group_dirs(isolation.cgroup_version, group):
            base.rmdir()


def wait_for_zombie(pid):
    for _ in range(1000):
        if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not exit")


def _group_dirs(version, group):
    bases = cgroups._v1_bases(group).values() if version == 1 else [cgroups._v2_base(group)]
    return [b for b in bases if b.is_dir()]


# ------------------------------------------------------------------ two real servers, one host
def post_json(url, token, body):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def sandbox_cgroup_groups(pids):
    """The cgroup directories (one level above the environment's) the processes live in."""
    groups = set()
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "pids" in controllers.split(",") or controllers == "":
                parts = path.strip("/").split("/")
                if len(parts) >= 2:
                    groups.add(parts[-2])
    return groups


class Server:
    def __init__(self, workdir, instance):
        self.instance = instance
        workdir.mkdir()
        self.live = LiveServer(workdir, SLOT_UID_BASE, MAX_ENVIRONMENTS)
        self.live.env["INSTANCE"] = instance
        self.live.start()
        self.token = self.live.manage("create_api_token", "ada").strip()
        self.function = post_json(f"{self.live.url}/api/functions", self.token, {"name": "warm"})

    def invoke(self):
        return post_json(self.function["invoke_url"], self.token, {"event": {}})

    def stop(self):
        self.live.stop()
        self.live.reap()
        remove_cgroup_group(f"coldstart-{self.instance}")


def test_two_servers_on_one_host_run_sandboxes_as_different_uids_in_their_own_cgroups(
    tmp_path, full_isolation
):
    first_uids = {SLOT_UID_BASE + n for n in range(MAX_ENVIRONMENTS)}
    second_uids = {SLOT_UID_BASE + MAX_ENVIRONMENTS + n for n in range(MAX_ENVIRONMENTS)}
    first = Server(tmp_path / "one", "test-instance-one")
    second = None
    try:
        assert first.invoke()["cold"] is True
        first_pids = processes_of_uids(first_uids)
        assert first_pids, "the first server's warm environment does not run as its leased uids"
        assert sandbox_cgroup_groups(first_pids) == {f"coldstart-{first.instance}"}

        # Same SANDBOX_SLOT_UID_BASE: the second server's start-up sweep and its sandboxes
        # must leave the first server's warm environment alone.
        second = Server(tmp_path / "two", "test-instance-two")
        assert second.invoke()["cold"] is True
        second_pids = processes_of_uids(second_uids)
        assert second_pids, "the second server did not move to the next block of uids"
        assert sandbox_cgroup_groups(second_pids) == {f"coldstart-{second.instance}"}
        assert not set(second_pids) & set(first_pids)

        again = first.invoke()
        assert (again["status"], again["cold"]) == ("ok", False), "the first server lost its warm environment"
        assert set(first_pids) <= set(processes_of_uids(first_uids))
    finally:
        for server in (second, first):
            if server is not None:
                server.stop()
        leftovers = wait_until_gone(first_uids | second_uids, timeout=10)
    assert not leftovers, f"sandbox processes outlived their servers: {leftovers}"
