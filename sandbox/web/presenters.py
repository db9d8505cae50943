"""Context for the playground's templates, shared by the page views and the consumer."""

import json

from django.core.paginator import Paginator
from django.utils.html import format_html

from sandbox.engine.rules import logconfig
from sandbox.web.totals import learner_totals

HISTORY_PAGE_SIZE = 10
ERROR_LOG_INDENT = "\u00a0"  # the runtime indents its traceback lines with no-break spaces
# The text format's "[LEVEL]" prefixes, in the log pane's level names.
TEXT_LEVELS = {
    "[DEBUG]": "DEBUG",
    "[INFO]": "INFO",
    "[WARNING]": "WARN",
    "[ERROR]": "ERROR",
    "[CRITICAL]": "FATAL",
}
LEVEL_KINDS = {"TRACE": "output", "DEBUG": "output", "INFO": "output", "WARN": "warning", "ERROR": "error",
               "FATAL": "error"}  # fmt: skip


def line_kind(line):
    """A CSS class per kind of log line, so platform lines stand out from handler output."""
    if line.startswith(("START RequestId:", "END RequestId:")):
        return "platform"
    if line.startswith("REPORT RequestId:"):
        return "report"
    if (
        line.startswith("INIT_REPORT")
        or " Task timed out after " in line
        or "Runtime exited with error" in line
    ):
        return "fatal"
    if line.startswith("[ERROR]") or line.startswith("Runtime."):
        return "error"
    if line.startswith("[WARNING]"):
        return "warning"
    if line.startswith("[coldstart]"):
        return "notice"
    return "output"


def _json_record(line):
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _platform_text(record):
    """A JSON platform record, as the matching text line would read."""
    body = record.get("record") if isinstance(record.get("record"), dict) else {}
    request_id = body.get("requestId", "")
    if record.get("type") == "platform.start":
        return f"platform.start  RequestId: {request_id}  Version: {body.get('version', '')}"
    metrics = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}
    parts = [f"{record.get('type')}  RequestId: {request_id}"]
    for key, label, unit in (
        ("durationMs", "Duration", "ms"),
        ("billedDurationMs", "Billed Duration", "ms"),
        ("memorySizeMB", "Memory Size", "MB"),
        ("maxMemoryUsedMB", "Max Memory Used", "MB"),
        ("initDurationMs", "Init Duration", "ms"),
    ):
        if key in metrics:
            parts.append(f"{label}: {metrics[key]} {unit}")
    if body.get("status") and body.get("status") != "success":
        parts.append(f"Status: {body['status']} {body.get('errorType', '')}".rstrip())
    return "  ".join(parts)


def _application_text(record, level):
    """A JSON application record: level, time, message, then its other fields and traceback."""
    known = {"timestamp", "time", "level", "log_level", "message", "msg", "requestId", "logger", "stackTrace"}
    message = record.get("message", record.get("msg"))
    if message is None and record.get("errorType"):  # the runtime's record of an unhandled error
        message = f"{record['errorType']}: {record.get('errorMessage', '')}"
        known |= {"errorType", "errorMessage"}
    extra = {k: v for k, v in record.items() if k not in known}
    stamp = record.get("timestamp", record.get("time", ""))
    text = f"[{level}] {stamp} {message if message is not None else ''}"
    if extra:
        text += "  " + json.dumps(extra, ensure_ascii=False, default=str)
    trace = record.get("stackTrace")
    if isinstance(trace, list) and trace:
        text += "\n" + "".join(str(frame) for frame in trace).rstrip("\n")
    return text


def describe_line(line):
    """(kind, level, readable text or None): how the log pane shows one line. JSON records get
    a readable form; level is what the pane's level filter compares ("" for platform lines)."""
    record = _json_record(line)
    if record is not None and str(record.get("type", "")).startswith("platform."):
        kind = "report" if record["type"] == "platform.report" else "platform"
        return kind, "", _platform_text(record)
    if record is not None and ("level" in record or "log_level" in record):
        level = logconfig.line_level(line)
        return LEVEL_KINDS[level], level, _application_text(record, level)
    kind = line_kind(line)
    if kind in ("platform", "report", "fatal", "notice"):
        return kind, "", None
    level = next((name for prefix, name in TEXT_LEVELS.items() if line.startswith(prefix)), "INFO")
    if line.startswith(("Traceback (most recent call last):", ERROR_LOG_INDENT)):
        level = "ERROR"  # the runtime's [ERROR] block: its traceback goes with it
    return kind, level, None


def render_log_line(line):
    """One line of the log pane as HTML: the readable form of a JSON record next to its raw JSON
    (the pane shows one of the two), and its level for the pane's filter."""
    kind, level, text = describe_line(line)
    if text is None:
        return format_html('<div class="log-line log-{}" data-level="{}">{}</div>', kind, level, line)
    return format_html(
        '<div class="log-line log-{} log-json" data-level="{}"><span class="log-pretty">{}</span>'
        '<span class="log-raw">{}</span></div>',
        kind,
        level,
        text,
        line,
    )


def log_lines_html(lines):
    """The fragment that appends streamed log lines to the page (htmx out-of-band swap). Built
    here, not by a template: it is sent for every batch of every learner's invocation."""
    body = "".join(render_log_line(line) for line in lines)
    return f'<div id="log-lines" hx-swap-oob="beforeend">{body}</div>'


def result_context(invocation):
    result_text = None
    if invocation.result is not None or invocation.status == "ok":
        result_text = json.dumps(invocation.result, indent=2, ensure_ascii=False)
    return {"invocation": invocation, "result_text": result_text}


# Statuses whose invocation ran and printed a REPORT line (a throttle or a lost worker did not).
REPORTED = ("ok", "error", "timeout", "oom", "crashed")
RUNS_KEPT = 5  # invocations the log pane keeps, oldest collapsed, to compare their REPORT lines


def report_figures(invocation):
    """The REPORT line's numbers of a finished invocation, for the side-by-side comparison; None
    while it runs or when it never ran."""
    if invocation.status not in REPORTED:
        return None
    return {
        "cold": invocation.cold,
        "duration_ms": invocation.duration_ms,
        "billed_ms": invocation.billed_duration_ms,
        "memory_mb": invocation.memory_size_mb,
        "max_memory_mb": invocation.max_memory_used_mb,
        "init_ms": invocation.init_duration_ms if invocation.cold else None,
    }


def log_run_context(invocation, lines, current=True):
    """One run of the log pane: its heading (status, REPORT figures once finished) and lines."""
    figures = report_figures(invocation)
    return {"invocation": invocation, "run_lines": lines, "figures": figures, "current": current}


def totals_context(user):
    return {"totals": learner_totals(user)}


def history_page(function, number):
    paginator = Paginator(function.invocations.all(), HISTORY_PAGE_SIZE)
    page = paginator.get_page(number)
    return {"history": page, "function": function}
