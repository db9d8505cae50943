"""Server log lines carry a timestamp, the level and the logger; LOG_FORMAT=json makes each line
one JSON object. Checked on a real daphne server's output and on a logged exception."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.live_server import PROCESS_UID_BASE, REPO_ROOT, LiveServer, sweep_sandboxes

SLOT_UID_BASE = PROCESS_UID_BASE + 34  # see tests/live_server.py
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
TEXT_LINE = re.compile(rf"^{TIME} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
LOG_SOME = """
import logging, django
django.setup()
logging.getLogger("coldstart.test").warning("a warning with %s", "an argument")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("coldstart.test").exception("it failed")
"""


def logged(log_format):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", LOG_FORMAT=log_format)
    done = subprocess.run(
        [sys.executable, "-c", LOG_SOME], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_text_lines_start_with_time_level_and_logger():
    output = logged("text")
    first, second = output.split("\n", 1)
    assert TEXT_LINE.match(first) and first.endswith("WARNING coldstart.test: a warning with an argument")
    assert TEXT_LINE.match(second) and "ERROR coldstart.test: it failed" in second
    assert "ZeroDivisionError: division by zero" in second


def test_json_lines_are_one_object_each_with_the_traceback_inside():
    lines = logged("json").splitlines()
    assert len(lines) == 2, lines
    warning, error = (json.loads(line) for line in lines)
    assert warning["level"] == "WARNING" and warning["logger"] == "coldstart.test"
    assert warning["message"] == "a warning with an argument"
    assert re.fullmatch(TIME, warning["time"])
    assert error["level"] == "ERROR" and "ZeroDivisionError" in error["exception"]


def test_an_unknown_log_format_stops_start_up_naming_the_variable():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", LOG_FORMAT="xml")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "LOG_FORMAT='xml'" in done.stderr


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_line_a_daphne_server_writes_is_in_the_format(tmp_path, log_format):
    live = LiveServer(tmp_path, SLOT_UID_BASE, 2)
    live.env.update(LOG_FORMAT=log_format)
    live.start()
    try:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(live.url + "/no-such-page", timeout=10)  # a django.request warning
    finally:
        live.stop()
        live.reap()
        sweep_sandboxes(live.uids)
    lines = (tmp_path / "daphne.log").read_text().splitlines()
    assert any("no-such-page" in line for line in lines), lines
    assert any("daphne.access" in line and "no-such-page" in line for line in lines), lines
    for line in lines:
        if log_format == "json":
            entry = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(entry), line
        else:
            assert TEXT_LINE.match(line), line
