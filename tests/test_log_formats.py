"""The logging configuration (Text or JSON, log levels) and the version in the platform lines,
compared with log records AWS documents, through the real engine (no mocks)."""

import json
import re

import pytest

from sandbox.engine.rules import logconfig
from tests.sandbox_helpers import run

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
JSON_LOGGING = {"log_format": "JSON", "application_log_level": "INFO", "system_log_level": "INFO"}

# Recorded AWS examples (AWS Lambda Developer Guide: "Using Lambda advanced logging controls
# with Python", and the Telemetry API's platform.start / platform.report events, which is what
# a JSON-format function's system log records are).
AWS_INFO_RECORD = {
    "timestamp": "2023-10-27T19:17:45Z",
    "level": "INFO",
    "message": "Inside the handler function",
    "logger": "root",
    "requestId": "79b4f56e-95b1-4643-9700-2807f4e68189",
}
AWS_EXCEPTION_RECORD = {
    "timestamp": "2023-10-27T19:17:45Z",
    "level": "ERROR",
    "message": "Something went wrong",
    "logger": "root",
    "stackTrace": [
        '  File "/var/task/lambda_function.py", line 15, in lambda_handler\n    raise Exception("x")\n'
    ],
    "errorType": "Exception",
    "errorMessage": "x",
    "requestId": "3f9c7b8e-13ef-4c4f-a87b-9a4a9cd3c0f2",
    "location": "/var/task/lambda_function.py:lambda_handler:17",
}
AWS_PLATFORM_START = {
    "time": "2022-10-12T00:00:15.064Z",
    "type": "platform.start",
    "record": {"requestId": "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa", "version": "$LATEST"},
}
AWS_PLATFORM_REPORT = {
    "time": "2024-07-01T08:54:54.127Z",
    "type": "platform.report",
    "record": {
        "requestId": "b2de8fdb-259d-476f-9546-0b4822dce67a",
        "metrics": {
            "durationMs": 17.493,
            "billedDurationMs": 18,
            "memorySizeMB": 128,
            "maxMemoryUsedMB": 75,
            "initDurationMs": 235.086,
        },
        "status": "success",
    },
}
AWS_TEXT_START = "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST"
TIME_FORMATS = {
    "seconds": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    "millis": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
}


def shape(value):
    """The form of a record: its keys in order, and each value's type (timestamps by format)."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return ["list", *sorted({json.dumps(shape(item)) for item in value})]
    if isinstance(value, str):
        for name, pattern in TIME_FORMATS.items():
            if pattern.fullmatch(value):
                return f"time:{name}"
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def json_lines(record):
    found = []
    for line in record.logs:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def of_type(record, kind):
    return [r for r in json_lines(record) if r.get("type") == kind]


# ----------------------------------------------------------------------------- versions


VERSIONED = """
import os
def handler(event, context):
    return {
        "function_version": context.function_version,
        "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "stream": context.log_stream_name,
        "arn": context.invoked_function_arn,
    }
"""


def test_the_start_line_names_the_version_that_ran_as_aws_writes_it(engine):
    (latest,) = run(engine, VERSIONED)
    assert re.sub(UUID, "ID", latest.logs[0]) == re.sub(r"RequestId: \S+", "RequestId: ID", AWS_TEXT_START)
    (published,) = run(engine, VERSIONED, version="3")
    assert published.logs[0] == f"START RequestId: {published.request_id} Version: 3"
    assert published.executed_version == "3"
    assert published.result["function_version"] == "3"
    assert published.result["env_version"] == "3"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[3\][0-9a-f]{32}", published.result["stream"])


def test_the_context_names_the_arn_the_caller_invoked_with_its_alias(engine):
    import asyncio

    from sandbox.engine.invocation import FunctionRunner
    from tests.sandbox_helpers import spec_for

    spec = spec_for(VERSIONED, name="shop", version="2")

    async def scenario():
        runner = FunctionRunner(engine, spec)
        try:
            aliased = await runner.invoke({}, invoked_arn=spec.qualified_arn("live"))
            plain = await runner.invoke({})
            return aliased, plain
        finally:
            runner.close()

    aliased, plain = asyncio.run(scenario())
    assert aliased.result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:shop:live"
    assert plain.result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:shop"
    assert not plain.cold, "the same environment serves the alias and the version"


# ----------------------------------------------------------------------------- JSON format

LOGS = """
import logging
logger = logging.getLogger()
def handler(event, context):
    logger.debug("debug detail")
    logger.info("Inside the handler function")
    logger.warning("careful", extra={"order_id": 42})
    try:
        raise Exception("x")
    except Exception:
        logger.exception("Something went wrong")
    print("plain print")
    print('{"level": "debug", "msg": "structured debug print"}')
    print('{"level": "error", "msg": "structured error print"}')
    return "done"
"""


def test_json_logging_records_have_the_shape_aws_documents(engine):
    (record,) = run(engine, LOGS, logging=JSON_LOGGING)
    records = json_lines(record)
    (info,) = [r for r in records if r.get("message") == "Inside the handler function"]
    assert shape(info) == shape(AWS_INFO_RECORD)
    assert info["requestId"] == record.request_id and info["logger"] == "root"
    (failure,) = [r for r in records if r.get("message") == "Something went wrong"]
    assert shape(failure) == shape(AWS_EXCEPTION_RECORD)
    assert failure["errorType"] == "Exception" and failure["errorMessage"] == "x"
    assert failure["location"].startswith("/var/task/lambda_function.py:handler:")
    (warning,) = [r for r in records if r.get("message") == "careful"]
    assert warning["level"] == "WARNING" and warning["order_id"] == 42, "extra= fields become keys"


def test_json_platform_records_replace_start_and_report_with_the_same_figures(engine):
    first, second = run(
        engine, "def handler(event, context):\n    return 1\n", events=[{}, {}], logging=JSON_LOGGING
    )
    for record in (first, second):
        assert not any(line.startswith(("START ", "END ", "REPORT ")) for line in record.logs)
        (start,) = of_type(record, "platform.start")
        (report,) = of_type(record, "platform.report")
        assert shape(start) == shape(AWS_PLATFORM_START)
        assert start["record"] == {"requestId": record.request_id, "version": "$LATEST"}
        metrics = report["record"]["metrics"]
        assert report["record"]["requestId"] == record.request_id
        assert report["record"]["status"] == "success"
        assert metrics["durationMs"] == round(record.duration_ms, 3)
        assert metrics["billedDurationMs"] == record.billed_duration_ms
        assert metrics["memorySizeMB"] == 128
        assert metrics["maxMemoryUsedMB"] == record.max_memory_used_mb
        assert record.logs[0] == json.dumps(start) and record.logs[-1] == json.dumps(report)
    assert shape(of_type(first, "platform.report")[0]) == shape(AWS_PLATFORM_REPORT), "cold: initDurationMs"
    assert of_type(first, "platform.report")[0]["record"]["metrics"]["initDurationMs"] == round(
        first.init_duration_ms, 3
    )
    assert "initDurationMs" not in of_type(second, "platform.report")[0]["record"]["metrics"]


def test_json_at_info_keeps_info_and_plain_prints_and_drops_debug(engine):
    (record,) = run(engine, LOGS, logging=JSON_LOGGING)
    messages = [r.get("message") or r.get("msg") for r in json_lines(record)]
    assert "Inside the handler function" in messages
    assert "debug detail" not in messages, "the runtime's root logger is at INFO"
    assert "structured debug print" not in messages, "Lambda filters a JSON print by its level"
    assert "structured error print" in messages
    assert "plain print" in record.logs, "print() stays plain text, counted as INFO"


def test_json_at_warn_drops_info_records_and_plain_prints(engine):
    logging_config = dict(JSON_LOGGING, application_log_level="WARN")
    (record,) = run(engine, LOGS, logging=logging_config)
    levels = {r.get("level") for r in json_lines(record) if "level" in r}
    assert levels == {"WARNING", "ERROR", "error"}  # Python's level names, as awslambdaric writes
    assert "plain print" not in record.logs


def test_json_at_trace_keeps_debug_records(engine):
    (record,) = run(engine, LOGS, logging=dict(JSON_LOGGING, application_log_level="TRACE"))
    messages = [r.get("message") or r.get("msg") for r in json_lines(record)]
    assert "debug detail" in messages and "structured debug print" in messages


def test_system_log_level_warn_drops_the_platform_records_of_a_normal_invocation(engine):
    (record,) = run(
        engine,
        "def handler(event, context):\n    return 1\n",
        logging=dict(JSON_LOGGING, system_log_level="WARN"),
    )
    assert of_type(record, "platform.start") == [] and of_type(record, "platform.report") == []
    assert record.status == "ok" and record.duration_ms > 0, "the figures are still measured and billed"


def test_an_unhandled_exception_in_json_is_one_error_record_and_a_failed_report(engine):
    (record,) = run(
        engine, "def handler(event, context):\n    raise ValueError('boom')\n", logging=JSON_LOGGING
    )
    errors = [r for r in json_lines(record) if r.get("log_level") == "ERROR"]
    assert len(errors) == 1
    assert list(errors[0]) == [
        "timestamp",
        "log_level",
        "errorMessage",
        "errorType",
        "requestId",
        "stackTrace",
    ]
    assert TIME_FORMATS["seconds"].fullmatch(errors[0]["timestamp"])
    assert errors[0]["errorType"] == "ValueError" and errors[0]["requestId"] == record.request_id
    (report,) = of_type(record, "platform.report")
    assert report["record"]["status"] == "error" and report["record"]["errorType"] == "ValueError"
    assert not any(line.startswith("[ERROR]") for line in record.logs)


def test_json_sets_lambdas_log_variables_and_text_sets_none(engine):
    source = """
    import os
    def handler(event, context):
        return {k: v for k, v in os.environ.items() if k in ("AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL")}
    """
    (text,) = run(engine, source)
    assert text.result == {}
    (structured,) = run(engine, source, logging=dict(JSON_LOGGING, application_log_level="ERROR"))
    assert structured.result == {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "ERROR"}


# ----------------------------------------------------------------------------- the rules


def test_levels_can_only_be_set_with_the_json_format():
    with pytest.raises(logconfig.LoggingConfigError, match="JSON log format"):
        logconfig.validate({"log_format": "Text", "application_log_level": "DEBUG"})
    assert logconfig.validate({"log_format": "JSON", "application_log_level": "DEBUG"}) == {
        "log_format": "JSON",
        "application_log_level": "DEBUG",
        "system_log_level": "INFO",
    }
    assert logconfig.validate({}) == logconfig.DEFAULTS


@pytest.mark.parametrize(
    "bad",
    [
        {"log_format": "XML"},
        {"log_format": "JSON", "application_log_level": "VERBOSE"},
        {"log_format": "JSON", "system_log_level": "ERROR"},
        {"format": "JSON"},
        "JSON",
    ],
)
def test_bad_logging_configurations_are_refused(bad):
    with pytest.raises(logconfig.LoggingConfigError):
        logconfig.validate(bad)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("plain text", "INFO"),
        ('{"level": "debug", "msg": "x"}', "DEBUG"),
        ('{"level": "WARNING", "message": "x"}', "WARN"),
        ('{"level": "CRITICAL"}', "FATAL"),
        ('{"log_level": "ERROR", "errorMessage": "x"}', "ERROR"),
        ('{"level": "loud"}', "INFO"),
        ('{"level": 3}', "INFO"),
        ("{not json}", "INFO"),
        ("[1, 2]", "INFO"),
    ],
)
def test_a_lines_level_comes_from_its_json_level_key_or_is_info(line, level):
    assert logconfig.line_level(line) == level
