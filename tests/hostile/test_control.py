"""The control group: legitimate code must keep working inside the sandbox the hostile suite attacks."""

from tests.sandbox_helpers import run

THREADS = """
import threading

def handler(event, context):
    results = []
    lock = threading.Lock()

    def work(n):
        with lock:
            results.append(n * n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"squares": sorted(results), "alive": threading.active_count()}
"""

JSON = """
import json

def handler(event, context):
    text = json.dumps({"event": event, "nested": [1, 2.5, None, True, "é"]}, ensure_ascii=False)
    return json.loads(text)
"""

SUBPROCESS = """
import subprocess
import sys

def handler(event, context):
    captured = subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, text=True)
    inherited = subprocess.run([sys.executable, "-c", "print('from the child')"])
    return [captured.returncode, captured.stdout, captured.stderr, inherited.returncode]
"""

SOCKETPAIR = """
import socket

def handler(event, context):
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        received = right.recv(4)
        right.sendall(received.upper())
        return [left.family.name, left.recv(4).decode()]
"""

TMP_COUNTER = """
import os

PATH = "/tmp/counter"

def handler(event, context):
    count = 1
    if os.path.exists(PATH):
        with open(PATH) as handle:
            count = int(handle.read()) + 1
    with open(PATH, "w") as handle:
        handle.write(str(count))
    return count
"""


def test_threads_start_run_and_join(engine, full_isolation):
    first, again = run(engine, THREADS, events=[{}, {}])
    expected = {"squares": sorted(n * n for n in range(16)), "alive": 1}
    assert (first.status, first.result) == ("ok", expected)
    assert (again.status, again.result, again.cold) == ("ok", expected, False)


def test_json_round_trips_the_event_and_unicode(engine, full_isolation):
    (record,) = run(engine, JSON, events=[{"key": "välue", "n": [1, 2]}])
    assert record.status == "ok"
    assert record.result == {"event": {"key": "välue", "n": [1, 2]}, "nested": [1, 2.5, None, True, "é"]}


def test_a_subprocess_of_the_interpreter_runs_and_its_inherited_output_reaches_the_log(
    engine, full_isolation
):
    # One vCPU (1769 MB): at 128 MB the CPU quota makes a second interpreter's start-up take ~1.5 s.
    (record,) = run(engine, SUBPROCESS, events=[{}], memory_mb=1769)
    assert record.status == "ok", record.error
    assert record.result == [0, "1\n", "", 0]
    assert "from the child" in record.logs


def test_an_af_unix_socketpair_carries_data_both_ways(engine, full_isolation):
    (record,) = run(engine, SOCKETPAIR, events=[{}])
    assert record.status == "ok", record.error
    assert record.result == ["AF_UNIX", "PING"]


def test_files_in_tmp_persist_across_warm_invocations_and_not_across_environments(engine, full_isolation):
    records = run(engine, TMP_COUNTER, events=[{}, {}, {}])
    assert [(r.status, r.cold, r.result) for r in records] == [
        ("ok", True, 1),
        ("ok", False, 2),
        ("ok", False, 3),
    ]
    (fresh,) = run(engine, TMP_COUNTER, events=[{}])
    assert (fresh.status, fresh.cold, fresh.result) == ("ok", True, 1)
