"""`manage.py invoke`, run as a real subprocess against handler files in tmp_path."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox_helpers import RECORD_KEYS, processes_of_uids

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_ENVIRONMENTS = 4
# A uid range of its own: apart from a dev server (60000) and the in-process tests (61000).
UID_BASE = 400_000 + (os.getpid() % 100_000) * MAX_ENVIRONMENTS

ECHO = """
count = 0
def handler(event, context):
    global count
    count += 1
    print("call", count)
    return {"count": count, "event": event}
"""


def invoke(*args, stdin=None):
    env = dict(
        os.environ,
        SANDBOX_SLOT_UID_BASE=str(UID_BASE),
        SANDBOX_MAX_ENVIRONMENTS=str(MAX_ENVIRONMENTS),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "invoke", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    leftovers = processes_of_uids({UID_BASE + n for n in range(MAX_ENVIRONMENTS)})
    assert not leftovers, f"sandbox processes outlived the command: {leftovers}"
    return done


@pytest.fixture
def handler_file(tmp_path):
    def write(source, name="handler.py"):
        path = tmp_path / name
        path.write_text(source)
        return path

    return write


def test_repeat_3_prints_three_reports_with_init_duration_only_in_the_first(handler_file):
    done = invoke(handler_file(ECHO), "--repeat", "3")
    reports = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0, done.stderr
    assert len(reports) == 3
    assert ["\tInit Duration: " in line for line in reports] == [True, False, False]
    assert [line for line in done.stdout.splitlines() if line.startswith("call ")] == [
        "call 1",
        "call 2",
        "call 3",
    ]


def test_a_successful_run_prints_the_lambda_log_lines_and_exits_0(handler_file):
    done = invoke(handler_file(ECHO))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"START RequestId: [0-9a-f-]{36} Version: \$LATEST", lines[0])
    assert lines[1:-2] == ["call 1"]
    assert lines[-2].startswith("END RequestId: ")
    assert lines[-1].startswith("REPORT RequestId: ")
    assert 'Response: {"count": 1, "event": {}}' in done.stderr


def test_a_function_error_exits_1(handler_file):
    done = invoke(handler_file("def handler(event, context):\n    raise ValueError('boom')\n"))
    assert done.returncode == 1
    assert "[ERROR] ValueError: boom" in done.stdout.splitlines()


def test_a_timeout_exits_1(handler_file):
    source = "import time\ndef handler(event, context):\n    time.sleep(5)\n"
    done = invoke(handler_file(source), "--timeout", "1", "--json")
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert record["status"] == "timeout"
    assert record["logs"][-1].endswith("Task timed out after 1.00 seconds")


def test_a_missing_handler_file_exits_2_with_a_one_line_error(tmp_path):
    missing = tmp_path / "nope.py"
    done = invoke(missing)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "no such handler file" in line
    assert str(missing) in line


def test_a_missing_event_file_exits_2_with_a_one_line_error(handler_file, tmp_path):
    missing = tmp_path / "event.json"
    done = invoke(handler_file(ECHO), "--event", missing)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert str(missing) in line
    assert "No such file or directory" in line


def test_a_bad_json_event_file_exits_2_naming_the_file_and_the_problem(handler_file, tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"name": ')
    done = invoke(handler_file(ECHO), "--event", event)
    assert done.returncode == 2
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert str(event) in last
    assert "not valid JSON" in last


def test_a_bad_json_event_file_error_is_the_only_line_on_stderr(handler_file, tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"name": ')
    done = invoke(handler_file(ECHO), "--event", event)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert str(event) in line


def test_event_dash_reads_the_event_from_standard_input(handler_file):
    done = invoke(handler_file(ECHO), "--event", "-", "--json", stdin='{"name": "stdin"}')
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert record["result"] == {"count": 1, "event": {"name": "stdin"}}


def test_json_prints_one_object_per_invocation_with_exactly_the_record_keys(handler_file):
    done = invoke(handler_file(ECHO), "--json", "--repeat", "2")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert len(records) == 2
    assert all(set(record) == RECORD_KEYS for record in records)
    cold, warm = records
    assert (cold["cold"], warm["cold"]) == (True, False)
    assert cold["init_duration_ms"] > 0
    assert warm["init_duration_ms"] is None
    assert (cold["status"], cold["memory_size_mb"], cold["error"]) == ("ok", 128, None)
    assert warm["result"] == {"count": 2, "event": {}}
    assert warm["logs"][-1].startswith(f"REPORT RequestId: {warm['request_id']}\t")
