"""Context for the playground's templates, shared by the page views and the consumer."""

import json

from django.core.paginator import Paginator

from sandbox.web.totals import learner_totals

HISTORY_PAGE_SIZE = 10


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
