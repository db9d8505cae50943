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


def totals_context(user):
    return {"totals": learner_totals(user)}


def history_page(function, number):
    paginator = Paginator(function.invocations.all(), HISTORY_PAGE_SIZE)
    page = paginator.get_page(number)
    return {"history": page, "function": function}
