"""Fidelity: the real sandbox reproduces the Lambda facts of docs/architecture.md §3.

Every test runs handlers through the real engine (`engine` fixture, `run` helper): no mocks.
"""

import asyncio
import logging
import os
import re
import time
from datetime import UTC, datetime

import pytest

from sandbox.engine.invocation import FunctionRunner, PayloadTooLarge, event_text
from sandbox.engine.rules import billing
from tests.sandbox_helpers import run, spec_for

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REPORT_WARM = re.compile(
    rf"^REPORT RequestId: (?P<id>{UUID})\tDuration: (?P<duration>\d+\.\d\d) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: 128 MB\tMax Memory Used: (?P<used>\d+) MB$"
)
REPORT_COLD = re.compile(REPORT_WARM.pattern[:-1] + r"\tInit Duration: (?P<init>\d+\.\d\d) ms$")
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
SIX_MB = 6 * 1024 * 1024

COUNTER = """
count = 0
def handler(event, context):
    global count
    count += 1
    print("call", count)
    return count
"""


def report_lines(record):
    return [line for line in record.logs if line.startswith("REPORT ")]


def needs_cgroups(isolation):
    if not isolation.cgroup_version:
        if os.environ.get("SANDBOX_REQUIRE") == "full":
            pytest.fail(isolation.describe())
        pytest.skip(f"needs cgroups; {isolation.describe()}")


# ----------------------------------------------------------------------------- errors


def test_an_unhandled_exception_is_a_function_error_with_lambdas_error_shape(engine):
    (record,) = run(engine, "def handler(event, context):\n    raise ValueError('boom')\n")
    assert record.status == "error"
    assert set(record.error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert record.error["errorMessage"] == "boom"
    assert record.error["errorType"] == "ValueError"
    assert record.error["requestId"] == record.request_id
    assert isinstance(record.error["stackTrace"], list)
    assert len(record.error["stackTrace"]) == 1
    assert 'lambda_function.py", line 2, in handler' in record.error["stackTrace"][0]


def test_an_unhandled_exception_logs_an_error_line_then_the_traceback(engine):
    (record,) = run(engine, "def handler(event, context):\n    raise ValueError('boom')\n")
    at = record.logs.index("[ERROR] ValueError: boom")
    assert record.logs[at + 1] == "Traceback (most recent call last):"
    assert "lambda_function.py" in record.logs[at + 2]
    assert record.logs[0].startswith("START ")
    assert at < record.logs.index(f"END RequestId: {record.request_id}")


def test_a_missing_module_fails_init_with_import_module_error(engine):
    (record,) = run(engine, "import nosuchmodule_xyz\ndef handler(event, context):\n    return 1\n")
    message = "Unable to import module 'lambda_function': No module named 'nosuchmodule_xyz'"
    assert record.status == "error"
    assert record.error["errorType"] == "Runtime.ImportModuleError"
    assert record.error["errorMessage"] == message
    assert record.error["requestId"] == record.request_id
    at = record.logs.index(f"[ERROR] Runtime.ImportModuleError: {message}")
    assert record.logs[at + 1] == "Traceback (most recent call last):"


def test_a_failed_init_is_tried_again_cold_on_the_next_invocation(engine):
    records = run(engine, "import nosuchmodule_xyz\n", events=[{}, {}])
    assert [r.cold for r in records] == [True, True]
    assert [r.error["errorType"] for r in records] == ["Runtime.ImportModuleError"] * 2
    assert all(REPORT_COLD.match(report_lines(r)[0]) for r in records)


def test_a_missing_handler_function_fails_init_with_handler_not_found(engine):
    (record,) = run(engine, "def handler(event, context):\n    return 1\n", handler="nope")
    assert record.status == "error"
    assert record.error["errorType"] == "Runtime.HandlerNotFound"
    assert record.error["errorMessage"] == "Handler 'nope' missing on module 'lambda_function'"
    assert (
        "[ERROR] Runtime.HandlerNotFound: Handler 'nope' missing on module 'lambda_function'" in record.logs
    )


def test_a_syntax_error_fails_init_with_user_code_syntax_error(engine):
    (record,) = run(engine, "x = 1\ndef handler(event, context)\n    return 1\n")
    assert record.status == "error"
    assert record.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert re.fullmatch(
        r"Syntax error in module 'lambda_function': .+\(lambda_function\.py, line 2\)",
        record.error["errorMessage"],
    )
    assert f"[ERROR] Runtime.UserCodeSyntaxError: {record.error['errorMessage']}" in record.logs


@pytest.mark.parametrize(("expression", "type_name"), [("{1, 2}", "set"), ("object()", "object")])
def test_a_result_that_is_not_json_serialisable_is_a_marshal_error(engine, expression, type_name):
    (record,) = run(engine, f"def handler(event, context):\n    return {expression}\n")
    message = f"Unable to marshal response: Object of type {type_name} is not JSON serializable"
    assert record.status == "error"
    assert record.error == {
        "errorMessage": message,
        "errorType": "Runtime.MarshalError",
        "requestId": record.request_id,
        "stackTrace": [],
    }
    assert f"[ERROR] Runtime.MarshalError: {message}" in record.logs


SIZED_RESULT = """
def handler(event, context):
    return "x" * event["chars"]
"""


def test_a_response_over_6_mb_is_response_size_too_large_and_the_environment_stays_warm(engine):
    # A JSON string of n characters is n + 2 bytes (its quotes): one byte over the limit.
    records = run(engine, SIZED_RESULT, events=[{"chars": SIX_MB - 1}, {"chars": 3}], memory_mb=1024)
    assert records[0].status == "error"
    assert records[0].result is None
    assert records[0].error["errorType"] == "Function.ResponseSizeTooLarge"
    assert records[0].error["requestId"] == records[0].request_id
    assert (records[1].status, records[1].cold, records[1].result) == ("ok", False, "xxx")


def test_a_response_of_exactly_6_mb_is_returned_whole(engine):
    (record,) = run(engine, SIZED_RESULT, events=[{"chars": SIX_MB - 2}], memory_mb=1024)
    assert record.status == "ok"
    assert len(record.result) == SIX_MB - 2


def test_an_event_over_6_mb_is_refused_before_any_environment_starts(engine):
    runner = FunctionRunner(engine, spec_for("def handler(event, context):\n    return 1\n"))
    event = {"data": "x" * SIX_MB}
    with pytest.raises(PayloadTooLarge):
        asyncio.run(runner.invoke(event))
    assert runner.environment is None
    assert engine.slots.in_use == 0


def test_event_text_refuses_an_event_one_byte_over_the_limit():
    fits = {"d": "x" * (SIX_MB - 8)}  # {"d":"…"} is exactly 6 MB of JSON text
    assert len(event_text(fits, SIX_MB).encode()) == SIX_MB
    with pytest.raises(PayloadTooLarge, match=r"^The event is 6.0 MB \(6291457 bytes\): over the 6 MB limit"):
        event_text({"d": fits["d"] + "x"}, SIX_MB)


SLEEPY = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return "done"
"""


def test_a_timeout_ends_the_invocation_with_the_timed_out_line_after_report(engine):
    (record,) = run(engine, SLEEPY, events=[{"sleep": 5}], timeout_s=1.0)
    line = f"{ISO_MS} {record.request_id} Task timed out after 1.00 seconds"
    assert record.status == "timeout"
    assert re.fullmatch(line, record.logs[-1])
    assert record.logs[-2].startswith(f"REPORT RequestId: {record.request_id}\t")
    assert re.fullmatch(line, record.error["errorMessage"])
    assert 1000 <= record.duration_ms < 1500


def test_a_timed_out_environment_is_destroyed_so_the_next_invocation_is_cold(engine):
    records = run(engine, SLEEPY, events=[{"sleep": 5}, {}], timeout_s=1.0)
    assert [r.status for r in records] == ["timeout", "ok"]
    assert [r.cold for r in records] == [True, True]
    assert records[1].init_duration_ms is not None


EXITING = """
import sys
def handler(event, context):
    if event.get("exit"):
        sys.exit(2)
    return "alive"
"""


def test_sys_exit_in_the_handler_crashes_the_environment_with_exit_status_2(engine):
    records = run(engine, EXITING, events=[{"exit": True}, {}])
    crash = records[0]
    line = f"RequestId: {crash.request_id} Error: Runtime exited with error: exit status 2"
    assert crash.status == "crashed"
    assert crash.error["errorType"] == "Runtime.ExitError"
    assert crash.error["errorMessage"] == line
    report_at = crash.logs.index(report_lines(crash)[0])
    assert line in crash.logs[report_at + 1 :]
    assert (records[1].status, records[1].cold, records[1].result) == ("ok", True, "alive")


# ----------------------------------------------------------------------------- log lines


def test_report_line_has_lambdas_tab_separated_fields_with_init_duration_only_when_cold(engine):
    cold, warm = run(engine, COUNTER, events=[{}, {}])
    (cold_report,) = report_lines(cold)
    (warm_report,) = report_lines(warm)
    cold_match = REPORT_COLD.match(cold_report)
    warm_match = REPORT_WARM.match(warm_report)
    assert cold_match and cold_match["id"] == cold.request_id
    assert warm_match and warm_match["id"] == warm.request_id
    assert "Init Duration" not in warm_report
    assert float(cold_match["init"]) == round(cold.init_duration_ms, 2)
    assert float(warm_match["duration"]) == round(warm.duration_ms, 2)
    assert int(warm_match["billed"]) == warm.billed_duration_ms
    assert int(warm_match["used"]) == warm.max_memory_used_mb


def test_start_and_end_lines_frame_the_handler_output(engine):
    (record,) = run(engine, COUNTER)
    rid = record.request_id
    assert re.fullmatch(UUID, rid)
    assert record.logs[0] == f"START RequestId: {rid} Version: $LATEST"
    assert record.logs[1:-2] == ["call 1"]
    assert record.logs[-2] == f"END RequestId: {rid}"
    assert record.logs[-1].startswith(f"REPORT RequestId: {rid}\t")


def test_logging_writes_level_utc_time_request_id_and_message_separated_by_tabs(engine):
    source = """
    import logging
    logging.getLogger().setLevel(logging.INFO)  # the root logger starts at WARNING, as on Lambda
    def handler(event, context):
        logging.getLogger("app").info("hello %s", "world")
    """
    before = datetime.now(UTC)
    records = run(engine, source, events=[{}, {}])
    for record in records:
        (line,) = [line for line in record.logs if line.startswith("[INFO]")]
        match = re.fullmatch(rf"\[INFO\]\t({ISO_MS})\t{record.request_id}\thello world", line)
        assert match, line
        stamp = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert abs((stamp - before).total_seconds()) < 30  # UTC, not local time


def test_logging_info_is_dropped_by_default_as_the_root_logger_keeps_pythons_warning_level(engine):
    source = """
    import logging
    logger = logging.getLogger()
    def handler(event, context):
        logger.info("not shown")
        logger.warning("shown")
        return [logger.level, logging.getLevelName(logger.getEffectiveLevel()), len(logger.handlers)]
    """
    (record,) = run(engine, source)
    assert record.result == [logging.WARNING, "WARNING", 1], "Lambda's handler, Python's level"
    assert not any("not shown" in line for line in record.logs)
    (line,) = [line for line in record.logs if "shown" in line]
    assert re.fullmatch(rf"\[WARNING\]\t{ISO_MS}\t{record.request_id}\tshown", line)


def test_log_lines_stream_to_the_caller_as_they_are_written(engine):
    source = """
    import time
    def handler(event, context):
        print("first")
        time.sleep(1)
        print("second")
    """
    seen = []

    async def invoke():
        runner = FunctionRunner(engine, spec_for(source))
        try:
            return await runner.invoke({}, on_log=lambda line: seen.append((time.monotonic(), line)))
        finally:
            runner.close()

    record = asyncio.run(invoke())
    arrived = {line: at for at, line in seen}
    assert record.status == "ok"
    assert arrived["second"] - arrived["first"] >= 0.9


# ----------------------------------------------------------------------------- lifecycle


def test_module_level_code_runs_once_as_init_and_globals_persist_while_warm(engine):
    source = """
    import time
    time.sleep(0.3)
    count = 0
    def handler(event, context):
        global count
        count += 1
        return count
    """
    records = run(engine, source, events=[{}, {}, {}])
    assert [r.result for r in records] == [1, 2, 3]
    assert [r.cold for r in records] == [True, False, False]
    assert records[0].init_duration_ms >= 300
    assert [r.init_duration_ms for r in records[1:]] == [None, None]
    assert ["Init Duration" in report_lines(r)[0] for r in records] == [True, False, False]


def test_tmp_files_persist_across_warm_invocations(engine):
    source = """
    def handler(event, context):
        with open("/tmp/visits.txt", "a") as handle:
            handle.write("x")
        with open("/tmp/visits.txt") as handle:
            return handle.read()
    """
    records = run(engine, source, events=[{}, {}, {}])
    assert [r.result for r in records] == ["x", "xx", "xxx"]


def test_a_100_ms_sleep_reports_a_duration_between_100_and_102_ms(engine):
    source = """
    import time
    def handler(event, context):
        time.sleep(0.1)
    """
    _warm_up, measured = run(engine, source, events=[{}, {}], memory_mb=1024)
    assert 100 <= measured.duration_ms <= 102
    assert measured.billed_duration_ms == billing.billed_duration_ms(measured.duration_ms)


def test_max_memory_used_counts_a_60_mb_allocation(engine):
    source = """
    def handler(event, context):
        block = bytearray(60 * 1024 * 1024)
        return len(block)
    """
    (record,) = run(engine, source)
    assert record.status == "ok", record.error
    assert 60 <= record.max_memory_used_mb <= 80
    assert f"\tMax Memory Used: {record.max_memory_used_mb} MB" in report_lines(record)[0]


def test_billing_figures_in_the_record_follow_sandbox_billing(engine):
    records = run(engine, COUNTER, events=[{}, {}])
    prices = engine.prices
    for record in records:
        billed = billing.billed_duration_ms(
            record.duration_ms, record.init_duration_ms, prices.bill_init_phase
        )
        gb_s = billing.gb_seconds(128, billed)
        assert record.billed_duration_ms == billed
        assert record.gb_seconds == pytest.approx(gb_s)
        assert record.cost_usd == pytest.approx(billing.cost_usd(gb_s, 1, prices))
        assert f"\tBilled Duration: {billed} ms\t" in report_lines(record)[0]
    assert records[0].billed_duration_ms >= records[0].init_duration_ms + records[0].duration_ms


# ----------------------------------------------------------------------------- context, environment


CONTEXT = """
def handler(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
"""


def test_context_memory_limit_in_mb_is_a_string(engine):
    (record,) = run(engine, CONTEXT)
    assert record.result["memory_limit_in_mb"] == "128"


def test_context_names_the_request_function_version_arn_and_log_group(engine):
    (record,) = run(engine, CONTEXT, name="thumbnailer")
    assert record.result["aws_request_id"] == record.request_id
    assert record.result["function_name"] == "thumbnailer"
    assert record.result["function_version"] == "$LATEST"
    assert (
        record.result["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer"
    )
    assert record.result["log_group_name"] == "/aws/lambda/thumbnailer"


def test_context_log_stream_name_has_lambdas_format_and_stays_the_same_while_warm(engine):
    first, second = run(engine, CONTEXT, events=[{}, {}])
    stream = first.result["log_stream_name"]
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream)
    assert second.result["log_stream_name"] == stream


def test_context_remaining_time_is_between_zero_and_the_timeout(engine):
    (record,) = run(engine, CONTEXT, timeout_s=2.0)
    assert 0 < record.result["remaining_ms"] <= 2000


ENVIRONMENT = """
import os
def handler(event, context):
    return {"environ": dict(os.environ), "cwd": os.getcwd()}
"""

# Python adds LC_CTYPE itself (PEP 538 locale coercion) and the sandbox sets PWD; any other
# variable that is not Lambda's or the function's own is a leak from the host.
ADDED_BY_THE_PROCESS = {"LC_CTYPE", "PWD"}


def lambda_environment(stream, name="fn"):
    return {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "_HANDLER": "lambda_function.handler",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    }


def test_environment_variables_are_lambdas_set_plus_the_configured_ones(engine, monkeypatch):
    monkeypatch.setenv("COLDSTART_HOST_ONLY", "must-not-leak")
    (record,) = run(engine, ENVIRONMENT, environment={"STAGE": "dev"})
    environ = record.result["environ"]
    expected = lambda_environment(environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "?"))
    expected["STAGE"] = "dev"
    assert {k: environ.get(k) for k in expected} == expected
    assert set(environ) - set(expected) <= ADDED_BY_THE_PROCESS
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", environ["AWS_LAMBDA_LOG_STREAM_NAME"])


def test_pwd_names_the_task_root_as_on_lambda(engine):
    (record,) = run(engine, ENVIRONMENT)
    assert record.result["cwd"] == "/var/task"
    assert record.result["environ"].get("PWD") == "/var/task"


# ----------------------------------------------------------------------------- cgroups


CPU_BOUND = """
def handler(event, context):
    total = 0
    for i in range(event["n"]):
        total += i
    return total
"""


def test_cpu_share_is_proportional_to_memory(engine, isolation):
    needs_cgroups(isolation)
    events = [{"n": 1}, {"n": 700_000}]  # a warm-up, then ~50 ms of work at a full vCPU
    fast = run(engine, CPU_BOUND, events=events, memory_mb=1769, timeout_s=5.0)[1]
    slow = run(engine, CPU_BOUND, events=events, memory_mb=128, timeout_s=5.0)[1]
    assert (fast.status, slow.status) == ("ok", "ok"), (fast.error, slow.error)
    assert slow.duration_ms >= 5 * fast.duration_ms, (fast.duration_ms, slow.duration_ms)


TICKER = """
import threading, time
ticks = 0
def tick():
    global ticks
    while True:
        time.sleep(0.01)
        ticks += 1
def handler(event, context):
    at_start = ticks
    if event.get("start"):
        threading.Thread(target=tick, daemon=True).start()
    time.sleep(event.get("busy", 0))
    return {"at_start": at_start, "at_end": ticks}
"""


def test_an_idle_environment_is_frozen_so_background_threads_stop(engine, isolation):
    needs_cgroups(isolation)

    async def invoke():
        runner = FunctionRunner(engine, spec_for(TICKER, memory_mb=1024))
        try:
            started = await runner.invoke({"start": True, "busy": 0.2})
            await asyncio.sleep(0.5)
            later = await runner.invoke({})
            return started, later
        finally:
            runner.close()

    started, later = asyncio.run(invoke())
    assert (started.status, later.status) == ("ok", "ok"), (started.error, later.error)
    assert started.result["at_end"] >= 5, "the thread must run while the handler runs"
    idle_ticks = later.result["at_start"] - started.result["at_end"]
    assert idle_ticks < 10, f"the thread ran {idle_ticks} times while the environment was idle"


def test_an_environment_invoked_back_to_back_is_still_frozen_once_idle(engine, isolation):
    # Invocations that follow each other within the freeze grace share one idle timer: it fires
    # while some of them run (busy longer than the grace) or early for the latest idle period
    # (a 10 ms one ended since it was set), and must still freeze once the last one ends.
    needs_cgroups(isolation)

    async def invoke():
        runner = FunctionRunner(engine, spec_for(TICKER, memory_mb=1024))
        try:
            started = await runner.invoke({"start": True, "busy": 0.05})
            for busy in (0.0, 0.05, 0.01, 0.05, 0.01):
                last = await runner.invoke({"busy": busy})
            await asyncio.sleep(0.5)
            later = await runner.invoke({})
            return started, last, later
        finally:
            runner.close()

    started, last, later = asyncio.run(invoke())
    assert (started.status, last.status, later.status) == ("ok", "ok", "ok")
    assert not later.cold, "the same environment serves every invocation"
    idle_ticks = later.result["at_start"] - last.result["at_end"]
    assert idle_ticks < 10, f"the thread ran {idle_ticks} times while the environment was idle"
