"""One invocation from start to REPORT: cold start if needed, the START/END/REPORT lines, billing.

`FunctionRunner` keeps one environment of one function and invokes it in sequence (the CLI and
the playground); the scaling pool keeps several. Both build records the same way.
"""

import json
import os
from dataclasses import dataclass, field, fields

from sandbox.engine.rules import billing, logconfig, report

STATUSES = ("ok", "error", "timeout", "oom", "crashed")


class PayloadTooLarge(ValueError):
    """The event is over the synchronous payload limit (Lambda: RequestEntityTooLargeException)."""


class InvalidEvent(ValueError):
    pass


@dataclass
class InvocationRecord:
    """The measured facts of one invocation; `as_json()` is the CLI's --json object."""

    request_id: str
    status: str
    cold: bool
    init_duration_ms: float | None
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    gb_seconds: float
    cost_usd: float
    result: object = None
    error: dict | None = None
    executed_version: str = "$LATEST"  # the version that ran ($LATEST, or what an alias chose)
    logs: list = field(default_factory=list)

    def as_json(self):
        return record_json(self, self.logs)


# The measured facts an invocation's stored row copies from its record.
MEASURED_FIELDS = tuple(f.name for f in fields(InvocationRecord) if f.name not in ("request_id", "logs"))


def record_json(source, logs):
    """One invocation as JSON (`manage.py invoke --json`, the API), from a record or a stored
    row with the same field names."""
    data = {"request_id": str(source.request_id)}
    data.update((name, getattr(source, name)) for name in MEASURED_FIELDS)
    data["duration_ms"] = round(data["duration_ms"], 2)
    if data["init_duration_ms"] is not None:
        data["init_duration_ms"] = round(data["init_duration_ms"], 2)
    data["logs"] = logs
    return data


def event_text(event, limit):
    """Validate an event (a JSON value, or JSON text) and return its compact JSON text."""
    if isinstance(event, (str, bytes)):
        try:
            event = json.loads(event)
        except ValueError as exc:
            raise InvalidEvent(f"The event is not valid JSON: {exc}") from None
    text = _compact_json(event)
    size = len(text.encode())
    if size > limit:
        raise PayloadTooLarge(
            f"The event is {megabytes(size)} ({size} bytes): over the {megabytes(limit)} limit of a "
            f"synchronous invocation ({limit} bytes)."
        )
    return text


# json.dumps with arguments builds an encoder per call: this one is built once.
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def new_request_id():
    """str(uuid.uuid4()), the same format and randomness, in half its time."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def megabytes(size):
    """Bytes as Lambda's documentation writes its limits: 6291456 -> "6 MB", 7340033 -> "7.0 MB"."""
    value = size / (1024 * 1024)
    return f"{value:.0f} MB" if size % (1024 * 1024) == 0 else f"{value:.1f} MB"


async def run_invocation(
    engine,
    spec,
    environment,
    event_json,
    on_log=None,
    request_id=None,
    *,
    on_environment=None,
    provisioned=False,
    invoked_arn=None,
):
    """Invoke `spec` once. `environment` is a ready one (warm) or None (a cold start happens;
    `on_environment` hears of the new one before its init starts). `provisioned` bills the
    duration at the provisioned-concurrency price. `invoked_arn` is the ARN the caller used.

    The function's logging configuration decides the platform lines (text, or JSON records)
    and which lines are kept (rules/logconfig.py).

    Returns (record, environment): the environment to keep, or None when it died.
    """
    request_id = request_id or new_request_id()
    logs = []
    json_format = bool(spec.logging) and spec.logging.get("log_format") == logconfig.JSON
    config = logconfig.normalise(spec.logging) if json_format else None
    platform = _Platform(spec, request_id, json_format)

    if on_log is None:
        emit = logs.append
    else:

        def emit(line):
            logs.append(line)
            on_log(line)

    if platform.json:

        def emit_output(line):  # the handler's own output: filtered by the application log level
            if logconfig.keeps_application_line(config, line):
                emit(line)

        def emit_platform(line, level=logconfig.FAULT_LEVEL):
            if logconfig.keeps_system(config, level):
                emit(line)

    else:  # the Text format keeps every line

        emit_output = emit

        def emit_platform(line, level=None):
            emit(line)

    cold = environment is None or environment.state != "ready"
    init_ms = None
    if cold:
        environment = engine.new_environment(spec)
        if on_environment is not None:
            on_environment(environment)
        init = await environment.start(emit_output, request_id)
        init_ms = init.init_duration_ms
        if not init.ok:
            platform.start(emit_platform)
            platform.end(emit_platform)
            record = _record(
                engine,
                spec,
                request_id,
                init.status,
                True,
                init_ms,
                0.0,
                0,
                logs,
                error=dict(init.error, requestId=request_id),
                emit=platform.reporter(emit_platform),
            )
            for line in init.after_lines:
                emit_platform(line)
            return record, None
    platform.start(emit_platform)
    outcome = await environment.invoke(request_id, event_json, emit_output, invoked_arn=invoked_arn)
    platform.end(emit_platform)
    result = outcome.result  # parsed by the environment, which checked it is JSON
    error = outcome.error
    if error is not None:
        error = {
            "errorMessage": error.get("errorMessage", ""),
            "errorType": error.get("errorType", ""),
            "requestId": request_id,
            "stackTrace": error.get("stackTrace", []),
        }
    record = _record(
        engine,
        spec,
        request_id,
        outcome.status,
        cold,
        init_ms,
        outcome.duration_ms,
        outcome.max_memory_used_mb,
        logs,
        result=result,
        error=error,
        emit=platform.reporter(emit_platform),
        provisioned=provisioned,
    )
    for line in outcome.after_report:
        emit_platform(line)
    return record, (environment if environment.state == "ready" else None)


class _Platform:
    """START/END/REPORT as text lines, or as JSON `platform.*` records (no END), at their levels."""

    def __init__(self, spec, request_id, json_format):
        self.spec = spec
        self.request_id = request_id
        self.json = json_format

    def start(self, emit_platform):
        if self.json:
            emit_platform(logconfig.platform_start(self.request_id, self.spec.version), logconfig.START_LEVEL)
        else:
            emit_platform(report.start_line(self.request_id, self.spec.version), logconfig.START_LEVEL)

    def end(self, emit_platform):
        if not self.json:
            emit_platform(report.end_line(self.request_id), logconfig.START_LEVEL)

    def reporter(self, emit_platform):
        """What `_record` calls with the measured figures."""

        def write(record):
            figures = (
                record.request_id,
                record.duration_ms,
                record.billed_duration_ms,
                record.memory_size_mb,
                record.max_memory_used_mb,
                record.init_duration_ms,
            )
            if self.json:
                error_type = (record.error or {}).get("errorType")
                line = logconfig.platform_report(*figures, record.status, error_type)
            else:
                line = report.report_line(*figures)
            emit_platform(line, logconfig.REPORT_LEVEL)

        return write


def _record(
    engine,
    spec,
    request_id,
    status,
    cold,
    init_ms,
    duration_ms,
    max_used_mb,
    logs,
    *,
    emit,
    result=None,
    error=None,
    provisioned=False,
):
    prices = engine.prices
    billed = billing.billed_duration_ms(duration_ms, init_ms, prices.bill_init_phase)
    gb_s = billing.gb_seconds(spec.memory_mb, billed)
    cost = billing.cost_usd(gb_s, 1, prices, provisioned=provisioned)
    record = InvocationRecord(
        request_id=request_id,
        status=status,
        cold=cold,
        init_duration_ms=init_ms,
        duration_ms=duration_ms,
        billed_duration_ms=billed,
        memory_size_mb=spec.memory_mb,
        max_memory_used_mb=max_used_mb,
        gb_seconds=gb_s,
        cost_usd=cost,
        result=result,
        error=error,
        executed_version=spec.version,
        logs=logs,
    )
    emit(record)  # the REPORT line (or platform.report record), from the record's figures
    return record


class FunctionRunner:
    """One function, at most one environment, invocations in sequence."""

    def __init__(self, engine, spec):
        self.engine = engine
        self.spec = spec
        self.environment = None

    async def invoke(self, event, on_log=None, request_id=None, invoked_arn=None):
        text = event_text(event, self.engine.limits.payload_bytes)
        record, self.environment = await run_invocation(
            self.engine, self.spec, self.environment, text, on_log, request_id, invoked_arn=invoked_arn
        )
        return record

    def reset(self):
        """Destroy the environment: the next invocation is a cold start."""
        if self.environment is not None:
            self.environment.destroy()
            self.environment = None

    close = reset

