"""The launcher (sandbox/launcher): what it accepts from a worker, and what happens when either
side dies. Real launcher, real environments; the engine fixture checks nothing is left behind."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from sandbox.engine import cgroups, rlimits
from sandbox.engine.invocation import FunctionRunner
from sandbox.launcher import protocol
from tests.sandbox_helpers import processes_of_uids, run, spec_for

ROOT = Path(__file__).resolve().parent.parent
ECHO = "def handler(event, context):\n    return event\n"
GOOD_CREATE = {
    "op": "create", "env": 1, "memory_mb": 128, "pids_max": 64, "nofile": 1024,
    "tmp_bytes": 16 << 20, "cpu_period_us": 20000, "init_quota_us": 20000, "quota_us": 20000,
    "layers": 0,
}  # fmt: skip


@pytest.fixture
def launcher(engine, full_isolation):
    if full_isolation.launcher is None:
        pytest.skip("environments are not started by the launcher here (SANDBOX_SPAWN=bwrap)")
    return full_isolation.launcher


def connect(launcher):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(30)
    sock.connect(launcher.path)
    return sock


def create_request(engine, **changes):
    """A valid `create`, for the engine's last slot (the fixture checks its uid is left clean)."""
    return {**GOOD_CREATE, "uid": engine.slots.uid(engine.slots.size - 1), **changes}


def ask(launcher, raw, fds=()):
    """Send one raw datagram on a new connection; the reply and whether the launcher then
    closed the connection."""
    with connect(launcher) as sock:
        if fds:
            socket.send_fds(sock, [raw], list(fds))
        else:
            sock.send(raw)
        reply = json.loads(sock.recv(protocol.MAX_BYTES))
        closed = sock.recv(protocol.MAX_BYTES) == b""
    return reply, closed


BAD_REQUESTS = {
    "text": b"not json",
    "array": b"[1, 2]",
    "unknown op": {"op": "format_disk"},
    "op not a string": {"op": 7},
    "string number": {"memory_mb": "128"},
    "bool number": {"memory_mb": True},
    "out of range": {"memory_mb": 10**9},
    "missing field": {"uid": None},
    "extra field": {"path": "/etc"},
    "root uid": {"uid": 0},
    "low uid": {"uid": 1000},  # below the launcher's --min-uid
    "a uid this worker has not leased": {"uid": 2**31 - 3},
    "layers announced but not sent": {"layers": 1},
    "destroy before create": {"op": "destroy"},
    "an op that is gone": {"op": "quota"},
    "oversize": {"padding": "x" * protocol.MAX_BYTES},
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_a_request_outside_the_protocol_is_refused_and_the_launcher_keeps_serving(engine, launcher, name):
    bad = BAD_REQUESTS[name]
    if isinstance(bad, dict):
        request = bad if "op" in bad else create_request(engine, **bad)
        bad = json.dumps({k: v for k, v in request.items() if v is not None}).encode()

    reply, closed = ask(launcher, bad)

    assert reply["ok"] is False and reply["error"]
    assert closed
    (record,) = run(engine, ECHO, events=[{"still": "serving"}])
    assert (record.status, record.result) == ("ok", {"still": "serving"})


def test_descriptors_sent_to_the_launcher_are_refused(engine, launcher):
    r, w = os.pipe()
    try:
        reply, closed = ask(launcher, json.dumps(create_request(engine)).encode(), fds=[r])
    finally:
        os.close(r)
        os.close(w)
    assert reply["ok"] is False and "descriptors" in reply["error"]
    assert closed


def test_a_layers_descriptor_that_is_not_a_directory_is_refused(engine, launcher):
    r, w = os.pipe()
    try:
        reply, closed = ask(launcher, json.dumps(create_request(engine, layers=1)).encode(), fds=[r])
    finally:
        os.close(r)
        os.close(w)
    assert reply["ok"] is False and "not a directory" in reply["error"]
    assert closed


def test_another_worker_s_uid_is_refused(engine, launcher):
    """The launcher creates an environment only as a uid the asking worker holds: a process
    that leased nothing cannot run sandboxes as this test's (leased) slot uids."""
    request = json.dumps(create_request(engine)).encode()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        outcome = "no answer"
        try:
            with connect(launcher) as sock:
                sock.send(request)
                outcome = json.loads(sock.recv(protocol.MAX_BYTES)).get("error") or "created"
        finally:
            os.write(write_end, outcome.encode())
            os._exit(0)
    os.close(write_end)
    outcome = os.read(read_end, 1000).decode()
    os.close(read_end)
    os.waitpid(child, 0)
    assert "not leased by the asking worker" in outcome


def test_a_second_create_on_one_connection_is_refused(engine, launcher):
    request = create_request(engine)
    with connect(launcher) as sock:
        sock.send(json.dumps(request).encode())
        first, fds, _, _ = socket.recv_fds(sock, protocol.MAX_BYTES, protocol.MAX_FDS)
        try:
            assert json.loads(first)["ok"] is True
            assert len(fds) == len(protocol.REPLY_FDS)
            sock.send(json.dumps({**request, "env": 2}).encode())
            second = json.loads(sock.recv(protocol.MAX_BYTES))
        finally:
            for fd in fds:
                os.close(fd)
        assert second["ok"] is False
    # Closing the connection destroyed the environment it created, cgroup included.
    name = f"w{os.getpid()}-e{request['env']}"
    assert _wait(lambda: not processes_of_uids({request["uid"]}) and not _cgroup_dirs(name))


def test_a_user_the_launcher_was_not_told_about_gets_no_answer(launcher):
    """Only the uids given with --allow-uid (and root) may ask for environments."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        outcome = "answered"
        try:
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.settimeout(10)
            sock.connect(launcher.path)
            sock.send(b'{"op": "hello", "uid_lock": 0}')
            if sock.recv(protocol.MAX_BYTES) == b"":
                outcome = "closed"
        except OSError as exc:
            outcome = type(exc).__name__
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    outcome = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(child, 0)
    assert outcome in ("closed", "PermissionError", "ConnectionResetError")


def test_the_runtime_gets_the_engine_s_rlimits():
    from sandbox.launcher.server import _rlimits

    request = {"memory_mb": 2048, "tmp_bytes": 512 << 20, "pids_max": 256, "nofile": 1024}
    expected = rlimits.default_rlimits(2048, 512 << 20, 256)
    assert dict(_rlimits(request)) == expected


def test_a_worker_that_dies_leaves_no_environment_running(engine, launcher, tmp_path):
    base = engine.slots.uid(engine.slots.size - 1) + 1  # past this test process's own block
    script = tmp_path / "worker.py"
    limits = {k: v for k, v in settings.SANDBOX.items() if isinstance(v, int | float | str)}
    script.write_text(WORKER_SCRIPT.format(root=str(ROOT), socket=launcher.path, uid=base, limits=limits))
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        word, uid = worker.stdout.readline().split()
        uid = int(uid)
        assert word == "warm"
        assert processes_of_uids({uid}), "the worker's environment is not running"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert _wait(lambda: not processes_of_uids({uid})), "the environment outlived its worker"


def test_a_launcher_that_dies_takes_its_environments_with_it_and_is_restarted(engine, launcher):
    async def scenario():
        runner = FunctionRunner(engine, spec_for(ECHO))
        try:
            first = await runner.invoke({"n": 1})
            uid = engine.slots.uid(runner.environment.slot)
            alive_before = bool(processes_of_uids({uid}))
            os.kill(launcher.hello()["pid"], signal.SIGKILL)
            for _ in range(500):  # until the processes are gone and the worker has noticed
                if not processes_of_uids({uid}) and runner.environment.state == "dead":
                    break
                await asyncio.sleep(0.02)
            gone = not processes_of_uids({uid})
            second = await runner.invoke({"n": 2})
        finally:
            runner.close()
        return first, alive_before, gone, second

    before = launcher.hello()["pid"]
    first, alive_before, gone, second = asyncio.run(scenario())
    assert first.status == "ok" and alive_before
    assert gone, "an environment outlived its launcher"
    assert (second.status, second.cold, second.result) == ("ok", True, {"n": 2})
    assert launcher.hello()["pid"] != before


def _cgroup_dirs(name):
    """The directories of environment cgroup `name` still on disk."""
    version = cgroups.detect_version()
    if version is None:
        return []
    bases = cgroups._v1_bases().values() if version == 1 else [cgroups._v2_base()]
    return [base / name for base in bases if (base / name).exists()]


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


WORKER_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {root!r})
from sandbox.engine import uidlease
from sandbox.engine.core import Engine
from sandbox.engine.invocation import FunctionRunner
from sandbox.engine.isolation import detect
from sandbox.engine.outcomes import FunctionSpec, Limits
from sandbox.engine.rules.billing import Prices
from sandbox.engine.slots import SlotPool

LIMITS = {limits!r}


async def main():
    isolation = detect(launcher_socket={socket!r})
    uid = uidlease.lease({uid}, 1)  # a uid of its own: the launcher checks the worker holds it
    engine = Engine(isolation, Limits.from_table(LIMITS), SlotPool(1, uid), Prices())
    runner = FunctionRunner(engine, FunctionSpec(name="orphan", handler="h.handler",
                                                 files={{"h.py": "def handler(e, c):\\n    return 1\\n"}}))
    await runner.invoke({{}})
    print("warm", uid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


PRIVILEGES = """
import os

def handler(event, context):
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    keys = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
    return {"status": {k: status[k].strip() for k in keys},
            "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()], "groups": os.getgroups(),
            "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")), "cwd": os.getcwd(),
            "hostname": os.uname().nodename}
"""


def test_the_runtime_holds_no_privilege_when_learner_code_runs(engine, full_isolation):
    (record,) = run(engine, PRIVILEGES)

    assert record.status == "ok", record.error
    result = record.result
    no_capability = "0000000000000000"
    assert result["status"] == {"CapInh": no_capability, "CapPrm": no_capability,
                                "CapEff": no_capability, "CapBnd": no_capability,
                                "CapAmb": no_capability, "NoNewPrivs": "1", "Seccomp": "2"}
    uid = result["ids"][0]
    assert uid in {engine.slots.uid(n) for n in range(engine.slots.size)}
    assert result["ids"] == [uid, uid, uid, uid]
    assert result["groups"] in ([], [uid])
    # stdin, stdout, stderr, the events and messages pipes, and listdir's own descriptor
    assert len(result["fds"]) <= 6
    assert (result["cwd"], result["hostname"]) == ("/var/task", "localhost")


def test_destroy_soon_gives_the_slot_back_and_leaves_nothing_running(engine, full_isolation):
    """The teardown runs in a thread (the event loop goes on); awaiting it means all is gone."""

    async def scenario():
        runner = FunctionRunner(engine, spec_for(ECHO))
        record = await runner.invoke({"n": 1})
        environment = runner.environment
        uid = engine.slots.uid(environment.slot)
        gone = environment.destroy_soon()
        dead_at_once = environment.state == "dead"
        await gone
        in_use = engine.slots.in_use
        runner.close()
        return record, uid, dead_at_once, in_use

    record, uid, dead_at_once, in_use = asyncio.run(scenario())
    assert record.status == "ok" and dead_at_once
    assert in_use == 0
    assert not processes_of_uids({uid})


def test_a_worker_holding_descriptors_past_1024_still_starts_runs_and_destroys(engine, launcher):
    """A class's environments take a worker past select()'s 1024 descriptors; the launcher's
    calls and an environment's exit status must still be read (they failed invocations with
    "filedescriptor out of range in select()")."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1400:
        pytest.skip("this host allows fewer than 1400 descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400), hard))
    filler = []
    try:
        while not filler or filler[-1] < 1100:  # the next descriptors opened are past 1100
            filler.append(os.open(os.devnull, os.O_RDONLY))

        async def scenario():
            runner = FunctionRunner(engine, spec_for(ECHO))
            record = await runner.invoke({"n": 1})
            environment = runner.environment
            uid = engine.slots.uid(environment.slot)
            environment.destroy()
            runner.close()
            return record, uid

        record, uid = asyncio.run(scenario())
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert record.status == "ok", record.error
    assert record.result == {"n": 1}
    assert engine.slots.in_use == 0
    assert not processes_of_uids({uid})
