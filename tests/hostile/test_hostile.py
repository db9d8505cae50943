"""Hostile handlers against the real sandbox (isolation level "full").

Each attack is a program in `programs/`, starting with a comment on how it attacks. Every test
checks the precise outcome of the attack, that the test process itself is untouched (no new
file descriptors, no stray child processes), that the function can be invoked again, and (through
the `engine` fixture) that no process, cgroup or slot is left behind.
"""

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from sandbox.engine.invocation import FunctionRunner
from tests.sandbox_helpers import hostile_source, processes_of_uids, run, spec_for

PROJECT_DIR = Path(__file__).resolve().parents[2]
TRUNCATED = "[coldstart] Output truncated"

# What Lambda's Python runtime puts in the environment (docs/architecture.md §3), plus what the
# interpreter and bubblewrap add on their own (LC_CTYPE from locale coercion, PWD), as on Lambda.
LAMBDA_VARIABLES = {
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
    "LANG",
    "PATH",
    "LC_CTYPE",
    "PWD",
}


def _open_fds():
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass  # the directory listing's own fd, closed already
    return found


def _child_pids():
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.add(int(entry))
    return found


class ParentWatch:
    """The test process before an attack; `check()` asserts the attack left it as it was."""

    def __init__(self):
        self.fds = _open_fds()
        self.children = _child_pids()

    def check(self):
        assert _open_fds() == self.fds, "the test process gained or lost file descriptors"
        assert _child_pids() == self.children, "the test process has new child processes or zombies"


def invoke(engine, program, events, **options):
    """Run a hostile program once per event in one runner, checking the test process after."""
    watch = ParentWatch()
    records = run(engine, hostile_source(program), events=events, **options)
    watch.check()
    return records


def handler_output(record):
    """The log lines between START and the last END: what the handler wrote."""
    logs = record.logs
    end = max(i for i, line in enumerate(logs) if line == f"END RequestId: {record.request_id}")
    assert logs[0] == f"START RequestId: {record.request_id} Version: $LATEST"
    return logs[1:end]


def report_line(record):
    return next(line for line in record.logs if line.startswith(f"REPORT RequestId: {record.request_id}\t"))


def assert_works_again(record, result, *, cold):
    assert record.status == "ok", (record.status, record.error)
    assert record.result == result
    assert record.cold is cold


def test_a_fork_bomb_is_contained_and_the_next_invocation_works(engine, full_isolation):
    # 1769 MB = one vCPU, so the bomb reaches the pids limit well inside the timeout.
    started = time.monotonic()
    bomb, after = invoke(engine, "fork_bomb.py", [{"bomb": True}, {}], memory_mb=1769, timeout_s=2)
    elapsed = time.monotonic() - started

    assert bomb.status == "timeout"
    assert bomb.error["errorType"] == "Sandbox.Timedout"
    # The pids limit, not the timeout, stopped the growth (lines of many processes may interleave).
    assert any("fork failed: EAGAIN" in line for line in handler_output(bomb))
    assert bomb.logs[-1].endswith(f"{bomb.request_id} Task timed out after 2.00 seconds")
    assert elapsed < 5, f"tear-down of the bomb took too long: {elapsed:.1f} s in all"
    assert_works_again(after, "no bomb", cold=True)


def test_a_memory_bomb_is_killed_as_out_of_memory_and_the_next_invocation_is_cold(engine, full_isolation):
    # The generous timeout only guards the test: the 128 MB cgroup stops the bomb in 1-3 s
    # (slow for its size: 128 MB gets 1/14 of a vCPU).
    bomb, after = invoke(engine, "memory_bomb.py", [{"bomb": True}, {}], memory_mb=128, timeout_s=10)

    exit_line = f"RequestId: {bomb.request_id} Error: Runtime exited with error: signal: killed"
    assert bomb.status == "oom"
    assert bomb.error["errorType"] == "Runtime.OutOfMemory"
    assert bomb.error["errorMessage"] == exit_line
    assert bomb.max_memory_used_mb == 128
    assert "Max Memory Used: 128 MB" in report_line(bomb)
    after_report = bomb.logs[bomb.logs.index(report_line(bomb)) + 1 :]
    assert exit_line in after_report
    # A new process: the module-level list of blocks starts empty again.
    assert_works_again(after, {"blocks": 0}, cold=True)


def test_a_cpu_spin_times_out_after_one_second_and_the_next_invocation_is_cold(engine, full_isolation):
    spin, after = invoke(engine, "cpu_spin.py", [{"spin": True}, {}], timeout_s=1)

    assert spin.status == "timeout"
    assert spin.error["errorType"] == "Sandbox.Timedout"
    assert 1000 <= spin.duration_ms < 1500
    report_index = spin.logs.index(report_line(spin))
    assert spin.logs[report_index + 1 :] == [spin.error["errorMessage"]]
    assert spin.logs[-1].endswith(f"Z {spin.request_id} Task timed out after 1.00 seconds")
    assert_works_again(after, "calm", cold=True)


def test_sleeping_past_the_timeout_is_cut_off_and_the_next_invocation_is_cold(engine, full_isolation):
    started = time.monotonic()
    sleeper, after = invoke(engine, "sleep_past_timeout.py", [{"sleep": 30}, {}], timeout_s=1)
    elapsed = time.monotonic() - started

    assert sleeper.status == "timeout"
    assert sleeper.error["errorType"] == "Sandbox.Timedout"
    assert 1000 <= sleeper.duration_ms < 1500
    assert handler_output(sleeper)[0].startswith("sleeping 30 s with ")
    assert sleeper.logs[-1].endswith(f"Z {sleeper.request_id} Task timed out after 1.00 seconds")
    assert elapsed < 5
    assert_works_again(after, "awake", cold=True)


def test_a_finite_stdout_flood_is_truncated_at_the_cap_and_the_invocation_ends_ok(engine, full_isolation):
    flood, after = invoke(engine, "stdout_flood.py", [{"lines": 3000}, {"lines": 10}])

    assert flood.status == "ok"
    assert flood.result == {"written": 3000}
    output = handler_output(flood)
    assert output[-1].startswith(TRUNCATED)
    assert sum(line.startswith(TRUNCATED) for line in output) == 1
    kept = output[:-1]
    assert sum(len(line) + 1 for line in kept) <= engine.limits.output_cap_bytes
    assert kept[0].startswith("00000000 ") and len(kept) < 3000
    assert flood.logs[-1] == report_line(flood)
    # The cap is per invocation: the next one (warm) logs in full again.
    assert_works_again(after, {"written": 10}, cold=False)
    assert len(handler_output(after)) == 10


def test_an_endless_stdout_flood_is_truncated_and_ends_at_the_timeout(engine, full_isolation):
    flood, after = invoke(engine, "stdout_flood.py", [{"forever": True}, {"lines": 2}], timeout_s=1)

    assert flood.status == "timeout"
    assert flood.error["errorType"] == "Sandbox.Timedout"
    output = handler_output(flood)
    assert output[-1].startswith(TRUNCATED)
    assert sum(len(line) + 1 for line in output[:-1]) <= engine.limits.output_cap_bytes
    assert flood.logs[-1].endswith("Task timed out after 1.00 seconds")
    assert_works_again(after, {"written": 2}, cold=True)


def test_filling_tmp_stops_at_the_512_mb_cap_with_enospc_and_the_environment_keeps_working(
    engine, full_isolation
):
    # 1024 MB of memory, so the tmpfs cap (512 MB, charged to the memory cgroup) is hit first.
    fill, after = invoke(engine, "tmp_fill.py", [{"fill": True}, {}], memory_mb=1024, timeout_s=10)

    assert fill.status == "ok"
    assert fill.result["errno"] == 28
    assert fill.result["name"] == "ENOSPC"
    assert 500 <= fill.result["written_mb"] <= 512
    # Warm: the files are still there, /tmp is full, and the environment answers.
    assert after.status == "ok" and after.cold is False
    assert after.result["size_mb"] == 512
    assert after.result["free_mb"] == 0
    assert "fill-0" in after.result["files"]


def test_a_file_larger_than_rlimit_fsize_is_refused_with_efbig(engine, full_isolation):
    first, again = invoke(engine, "large_file.py", [{}, {}])

    expected = {"fsize_limit": 512 << 20, "seek_write": "EFBIG", "truncate": "EFBIG", "size": 0}
    assert first.status == "ok"
    assert first.result == expected  # no SIGXFSZ death: a catchable error
    assert_works_again(again, expected, cold=False)


def test_opening_too_many_files_fails_with_emfile_and_the_next_invocation_works(engine, full_isolation):
    first, again = invoke(engine, "too_many_open_files.py", [{}, {}])

    assert first.status == "ok"
    assert first.result["error"] == "EMFILE"
    assert first.result["nofile"] == 1024
    assert 1000 <= first.result["opened"] < 1024
    # Warm, and just as many fds available again: the runtime lost none of its own.
    assert_works_again(again, first.result, cold=False)


def test_a_thread_bomb_hits_the_pids_limit_and_the_handler_catches_it(engine, full_isolation):
    first, again = invoke(engine, "thread_bomb.py", [{}, {}], memory_mb=1024, timeout_s=10)

    assert first.status == "ok"
    assert first.result["error"] == "can't start new thread"
    # pids.max counts every task of the environment: bubblewrap (2) and the runtime's main thread.
    assert 200 <= first.result["started"] <= engine.limits.pids_max - 3
    assert first.result["alive"] == 1
    assert_works_again(again, first.result, cold=False)


def test_a_handler_sees_no_host_environment_variables_and_no_host_files(engine, full_isolation):
    host_files = [
        PROJECT_DIR / "config" / "settings.py",
        PROJECT_DIR / "manage.py",
        PROJECT_DIR / ".secret_key",
        PROJECT_DIR / "db.sqlite3",
        Path("/root/.bashrc"),
        Path("/etc/passwd"),
    ]
    assert (PROJECT_DIR / "config" / "settings.py").exists()  # the test means something on this host
    directories = [PROJECT_DIR, Path("/work"), Path("/etc"), Path("/home"), Path("/root")]
    paths = [str(p) for p in host_files + directories]
    snoop, again = invoke(engine, "host_secrets.py", [{"paths": paths}, {}], environment={"MY_SETTING": "on"})

    assert snoop.status == "ok"
    names = set(snoop.result["environ"])
    assert names <= LAMBDA_VARIABLES | {"MY_SETTING"}, names - LAMBDA_VARIABLES
    assert "MY_SETTING" in names
    assert not names & {"HOME", "USER", "LOGNAME", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "VIRTUAL_ENV"}
    assert names & set(os.environ) <= LAMBDA_VARIABLES

    found = snoop.result["paths"]
    for path in map(str, host_files + directories[:-1]):
        assert found[path] == {"error": "FileNotFoundError"}, path
    # /root is only there when the interpreter lives under it (pyenv): then it holds nothing but
    # the way to the interpreter.
    prefix = Path(full_isolation.python_prefix)
    if prefix.is_relative_to("/root"):
        assert found["/root"] == {"listing": [prefix.relative_to("/root").parts[0]]}
    else:
        assert found["/root"] == {"error": "FileNotFoundError"}
    assert again.status == "ok" and again.cold is False


def test_proc_shows_only_the_sandbox_s_own_processes(engine, full_isolation):
    snoop, again = invoke(engine, "proc_snoop.py", [{}, {}])

    assert snoop.status == "ok"
    seen = snoop.result
    slot_uids = {engine.slots.uid(n) for n in range(engine.slots.size)}
    assert seen["self"] == 2 and seen["parent"] == 1  # a pid namespace: the sandbox's init, then us
    assert seen["uid"] in slot_uids
    assert set(seen["processes"]) == {"1", "2"}
    assert seen["processes"]["1"]["cmdline"].startswith(full_isolation.init_command)
    assert seen["processes"]["1"]["uid"] == 0
    assert "/var/runtime/bootstrap.py" in seen["processes"]["2"]["cmdline"]
    assert seen["processes"]["2"]["uid"] == seen["uid"]
    assert not any("pytest" in p["cmdline"] for p in seen["processes"].values())
    assert seen["init_environ"] == "<PermissionError>"
    # The warm invocation's runtime is the same process, and still alone.
    assert again.status == "ok" and again.result["self"] == 2
    assert set(again.result["processes"]) == {"1", "2"}


def _sentinel(uid=None):
    """A host process that stays alive until its stdin closes."""
    return subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, user=uid)


def test_killing_the_parent_or_every_process_cannot_reach_outside_the_sandbox(engine, full_isolation):
    # Host processes a kill(-1) would hit without the pid namespace: one with the uid of the
    # environment's own slot (slot 0, the first one taken), one of another slot, and root.
    sentinels = [_sentinel(engine.slots.uid(0)), _sentinel(engine.slots.uid(1)), _sentinel()]
    try:
        parent, every, after = invoke(engine, "kill_parent.py", [{"target": "parent"}, {"target": "all"}, {}])
        alive = [s.poll() is None for s in sentinels]
    finally:
        for s in sentinels:
            s.stdin.close()
            s.wait(timeout=5)

    assert alive == [True, True, True]
    # The parent in the namespace is bubblewrap's init, run by root: not ours to signal.
    assert parent.status == "ok"
    assert parent.result == {"ppid_before": 1, "kill": "PermissionError", "ppid_after": 1}
    # kill(-1) finds nothing it may signal: the runtime is alone with init in its namespace.
    assert every.status == "ok" and every.cold is False
    assert every.result == {"ppid_before": 1, "kill": "ProcessLookupError", "ppid_after": 1}
    assert_works_again(after, {"ppid_before": 1, "kill": "sent", "ppid_after": 1}, cold=False)


def test_a_setsid_double_fork_daemon_does_not_survive_the_environment(engine, full_isolation):
    async def scenario():
        runner = FunctionRunner(engine, spec_for(hostile_source("daemon.py")))
        try:
            first = await runner.invoke({})
            uid = engine.slots.uid(runner.environment.slot)
            while_warm = processes_of_uids({uid})
            second = await runner.invoke({})
        finally:
            runner.close()
        return first, second, while_warm, processes_of_uids({uid})

    watch = ParentWatch()
    first, second, while_warm, after_close = asyncio.run(scenario())
    watch.check()

    assert first.status == "ok"
    assert first.result["daemon_alive"] is True
    assert len(while_warm) == 2, "the runtime and its daemon, kept (frozen) with the environment"
    assert second.status == "ok" and second.cold is False
    assert second.result["daemon_alive"] is True
    assert after_close == [], f"the daemon outlived its environment: {after_close}"


def test_ptrace_mount_and_unshare_through_ctypes_fail_with_eperm(engine, full_isolation):
    first, again = invoke(engine, "ptrace_mount.py", [{}, {}])

    denied = {"result": -1, "errno": "EPERM"}
    expected = {"ptrace_attach": denied, "ptrace_traceme": denied, "mount": denied, "unshare": denied}
    assert first.status == "ok"
    assert first.result == expected
    assert_works_again(again, expected, cold=False)


def test_raw_sockets_and_a_tcp_connection_to_the_host_are_denied(engine, full_isolation):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        first, again = invoke(engine, "network.py", [{"port": port}, {"port": port}])
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected

    denied = "PermissionError: 1"  # seccomp: socket() itself fails with EPERM
    expected = {"packet_raw": denied, "inet_raw": denied, "inet6_tcp": denied, "tcp_connect": denied}
    assert first.status == "ok"
    assert first.result == expected
    assert_works_again(again, expected, cold=False)


def test_printed_fake_report_lines_change_no_figure_and_the_real_report_comes_last(engine, full_isolation):
    (record,) = invoke(engine, "fake_report.py", [{}])

    rid = record.request_id
    assert record.status == "ok"
    assert record.result == {"ballast_mb": 48}
    # The forgeries are plain handler output...
    output = handler_output(record)
    assert f"REPORT RequestId: {rid}\tDuration: 0.01 ms\tBilled Duration: 1 ms\t" in output[1]
    assert output[2].endswith("Task timed out after 900.00 seconds")
    # ...the figures are the parent's measurements...
    assert record.duration_ms >= 300
    assert record.billed_duration_ms >= 300
    assert record.max_memory_used_mb >= 48
    assert record.memory_size_mb == 128
    # ...and the last line is the real REPORT, with the real request id and those figures.
    last = record.logs[-1]
    assert last.startswith(f"REPORT RequestId: {rid}\tDuration: {record.duration_ms:.2f} ms\t")
    assert f"\tMax Memory Used: {record.max_memory_used_mb} MB" in last
    assert "\tMemory Size: 128 MB\t" in last
    assert record.logs[-2] == f"END RequestId: {rid}"
    assert sum(line.startswith("REPORT RequestId:") for line in record.logs) == 2


def _channel_was_hit(record):
    """The fd_garbage program reached the runtime's message pipe (one fd took the writes)."""
    line = next(line for line in handler_output(record) if line.startswith("writes: "))
    return '"written"' in line


def test_garbage_written_to_other_fds_does_not_hide_the_handler_s_real_result(engine, full_isolation):
    garbage, after = invoke(engine, "fd_garbage.py", [{"mode": "garbage"}, {}], timeout_s=1)

    assert _channel_was_hit(garbage)
    assert garbage.status == "ok", (garbage.status, garbage.error)
    assert garbage.result == {"real": True}
    assert garbage.duration_ms < 500
    assert_works_again(after, {"real": True}, cold=False)


def test_forged_protocol_messages_on_other_fds_cannot_stand_in_for_the_result(engine, full_isolation):
    forged, after = invoke(engine, "fd_garbage.py", [{"mode": "forge"}, {}], timeout_s=1)

    assert _channel_was_hit(forged)
    assert forged.status == "ok", (forged.status, forged.error)
    assert forged.result == {"real": True}  # not the forged "someone-else" result either
    assert_works_again(after, {"real": True}, cold=False)


def test_a_message_left_in_the_channel_cannot_answer_the_next_invocation(engine, full_isolation):
    stale, victim, third = invoke(
        engine, "fd_garbage.py", [{"mode": "stale", "n": 1}, {"n": 2}, {"n": 3}], timeout_s=1
    )

    assert _channel_was_hit(stale)
    assert stale.status == "ok" and stale.result == {"real": True}
    assert_works_again(victim, {"real": True}, cold=False)
    assert handler_output(victim) == ["handling 2"]
    assert_works_again(third, {"real": True}, cold=False)
    assert handler_output(third) == ["handling 3"]


def test_closing_stdout_then_exiting_3_is_a_crash_with_exit_status_3(engine, full_isolation):
    crash, after = invoke(engine, "close_stdout_exit.py", [{"exit": True}, {}])

    exit_line = f"RequestId: {crash.request_id} Error: Runtime exited with error: exit status 3"
    assert crash.status == "crashed"
    assert crash.error["errorType"] == "Runtime.ExitError"
    assert crash.error["errorMessage"] == exit_line
    assert exit_line in crash.logs[crash.logs.index(report_line(crash)) + 1 :]
    assert_works_again(after, "still here", cold=True)


def test_a_segfault_is_a_crash_with_signal_segmentation_fault(engine, full_isolation):
    crash, after = invoke(engine, "segfault.py", [{"crash": True}, {}])

    exit_line = f"RequestId: {crash.request_id} Error: Runtime exited with error: signal: segmentation fault"
    assert crash.status == "crashed"
    assert crash.error["errorType"] == "Runtime.ExitError"
    assert crash.error["errorMessage"] == exit_line
    assert exit_line in crash.logs[crash.logs.index(report_line(crash)) + 1 :]
    assert_works_again(after, "intact", cold=True)


def test_invalid_utf8_and_terminal_escapes_reach_the_log_as_visible_text(engine, full_isolation):
    first, again = invoke(engine, "bad_bytes.py", [{}, {}])

    assert first.status == "ok"
    assert handler_output(first) == [
        "bad \ufffd\ufffd utf8",
        "\\x1b[2J\\x1b[31mred\\x07",
        "\\x1b]0;owned title\\x07visible",
        "fake\\x0dEND",
    ]
    for line in first.logs:
        assert not any(ord(c) < 32 and c != "\t" or 0x7F <= ord(c) <= 0x9F for c in line), repr(line)
    assert_works_again(again, "written", cold=False)
