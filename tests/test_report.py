"""Lambda's platform log lines (docs/architecture.md §3), built by pure functions."""

import re
from datetime import UTC, datetime

import pytest

from sandbox.engine.rules import report

RID = "8f4a3b2c-1d2e-4f5a-8b6c-7d8e9f0a1b2c"


def test_the_start_line_names_the_request_and_latest_version():
    assert report.start_line(RID) == f"START RequestId: {RID} Version: $LATEST"


def test_the_end_line_names_the_request():
    assert report.end_line(RID) == f"END RequestId: {RID}"


def test_a_cold_report_line_has_init_duration_last_and_tabs_between_fields():
    line = report.report_line(RID, 15.74, 147, 128, 56, 130.49)
    assert line == (
        f"REPORT RequestId: {RID}\tDuration: 15.74 ms\tBilled Duration: 147 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms"
    )


def test_a_warm_report_line_has_no_init_duration():
    line = report.report_line(RID, 15.74, 16, 128, 56)
    assert line == (
        f"REPORT RequestId: {RID}\tDuration: 15.74 ms\tBilled Duration: 16 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 56 MB"
    )


def test_durations_have_two_decimals_and_the_other_figures_none():
    line = report.report_line(RID, 3.0, 4, 1024, 7, 100.0)
    assert "\tDuration: 3.00 ms\t" in line
    assert line.endswith("\tInit Duration: 100.00 ms")
    assert "\tBilled Duration: 4 ms\tMemory Size: 1024 MB\tMax Memory Used: 7 MB" in line


def test_the_timeout_line_is_time_request_id_and_the_timeout_with_two_decimals():
    when = "2025-08-01T12:00:03.123Z"
    assert report.timeout_line(RID, 3, when) == f"{when} {RID} Task timed out after 3.00 seconds"
    assert report.timeout_line(RID, 1.5, when).endswith("Task timed out after 1.50 seconds")


def test_the_timeout_line_defaults_to_the_current_utc_time_in_milliseconds():
    line = report.timeout_line(RID, 1)
    match = re.fullmatch(
        rf"(\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}})Z {RID} Task timed out after 1\.00 seconds",
        line,
    )
    assert match, line
    stamp = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 5


def test_the_runtime_exit_line_names_the_request_and_the_reason():
    assert report.runtime_exit_line(RID, "signal: killed") == (
        f"RequestId: {RID} Error: Runtime exited with error: signal: killed"
    )


@pytest.mark.parametrize("status", [0, 1, 2, 137])
def test_an_exit_status_is_worded_as_go_does(status):
    assert report.exit_reason(status) == f"exit status {status}"


@pytest.mark.parametrize(
    ("signal_number", "reason"),
    [
        (9, "signal: killed"),
        (11, "signal: segmentation fault"),
        (6, "signal: aborted"),
        (15, "signal: terminated"),
        (31, "signal: bad system call"),
    ],
)
def test_a_death_by_signal_is_worded_as_go_does(signal_number, reason):
    assert report.exit_reason(None, signal_number) == reason


def test_a_signal_takes_precedence_over_the_exit_status():
    assert report.exit_reason(137, 9) == "signal: killed"


def test_an_unnamed_signal_number_is_worded_as_go_does():
    assert report.exit_reason(None, 64) == "signal: signal 64"


# Go's syscall signal names on Linux (zerrors_linux_*.go), which Lambda's runtime API uses.
GO_LINUX_SIGNALS = {
    1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction",
    5: "trace/breakpoint trap", 6: "aborted", 7: "bus error", 8: "floating point exception",
    9: "killed", 10: "user defined signal 1", 11: "segmentation fault",
    12: "user defined signal 2", 13: "broken pipe", 14: "alarm clock", 15: "terminated",
    16: "stack fault", 17: "child exited", 18: "continued", 19: "stopped (signal)",
    20: "stopped", 21: "stopped (tty input)", 22: "stopped (tty output)",
    23: "urgent I/O condition", 24: "CPU time limit exceeded", 25: "file size limit exceeded",
    26: "virtual timer expired", 27: "profiling timer expired", 28: "window changed",
    29: "I/O possible", 30: "power failure", 31: "bad system call",
}  # fmt: skip


def test_every_linux_signal_is_named_as_go_names_it():
    worded = {n: report.exit_reason(None, n) for n in GO_LINUX_SIGNALS}
    assert worded == {n: f"signal: {name}" for n, name in GO_LINUX_SIGNALS.items()}
