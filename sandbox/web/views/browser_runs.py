"""Recording runs made in the learner's browser (Pyodide): validated, never trusted for more than display."""

import json

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from sandbox.models import Invocation
from sandbox.web.ownership import own_function
from sandbox.web.presenters import history_page, totals_context

# ---------------------------------------------------------------- browser runs (issue 7)
BROWSER_STATUSES = (Invocation.OK, Invocation.ERROR, Invocation.TIMEOUT)


BROWSER_MAX_LOG_LINES = 10_000


BROWSER_MAX_DURATION_MS = (settings.SANDBOX["TIMEOUT_S_MAX"] + 60) * 1000  # the longest timeout + grace


BROWSER_MAX_INIT_MS = 600_000  # downloading Pyodide on a slow network


class BrowserRunInvalid(ValueError):
    pass


def _number(data, key, low, high, *, optional=False, integer=False):
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise BrowserRunInvalid(f"{key}: a number is required")
    if integer and int(value) != value:
        raise BrowserRunInvalid(f"{key}: a whole number is required")
    if not low <= value <= high:
        raise BrowserRunInvalid(f"{key}: must be between {low} and {high}")
    return int(value) if integer else float(value)


def _browser_run_fields(data):
    """Validate what the page measured in the learner's browser. Billing is computed here, by
    the same rules as the server's invocations (nothing billed is taken from the page)."""
    import uuid as uuid_module

    from django.conf import settings

    from sandbox.engine.rules import billing
    from sandbox.worker.config import prices_from_settings

    if not isinstance(data, dict):
        raise BrowserRunInvalid("a JSON object is required")
    try:
        request_id = uuid_module.UUID(str(data.get("request_id")))
    except ValueError:
        raise BrowserRunInvalid("request_id: a UUID is required") from None
    status = data.get("status")
    if status not in BROWSER_STATUSES:
        raise BrowserRunInvalid(f"status: one of {', '.join(BROWSER_STATUSES)}")
    cold = data.get("cold")
    if not isinstance(cold, bool):
        raise BrowserRunInvalid("cold: true or false")
    init_ms = _number(data, "init_duration_ms", 0, BROWSER_MAX_INIT_MS, optional=True)
    duration_ms = _number(data, "duration_ms", 0, BROWSER_MAX_DURATION_MS)
    low_mb, high_mb = settings.SANDBOX["MEMORY_MB_MIN"], settings.SANDBOX["MEMORY_MB_MAX"]
    memory_mb = _number(data, "memory_size_mb", low_mb, high_mb, integer=True)
    used_mb = _number(data, "max_memory_used_mb", 0, high_mb, integer=True)
    logs = data.get("logs", [])
    if not isinstance(logs, list) or not all(isinstance(line, str) for line in logs):
        raise BrowserRunInvalid("logs: a list of strings")
    if len(logs) > BROWSER_MAX_LOG_LINES:
        raise BrowserRunInvalid(f"logs: at most {BROWSER_MAX_LOG_LINES} lines")
    log_text = "\n".join(logs)
    cap = settings.SANDBOX["OUTPUT_CAP_BYTES"] + 64 * 1024
    truncated = len(log_text) > cap
    log_text = log_text[:cap]
    event = data.get("event", "")
    if not isinstance(event, str) or len(event.encode()) > settings.SANDBOX["PAYLOAD_BYTES"]:
        raise BrowserRunInvalid("event: JSON text within the payload limit")
    error = data.get("error")
    result = data.get("result")
    if error is not None:
        if not isinstance(error, dict):
            raise BrowserRunInvalid("error: an object")
        trace = error.get("stackTrace") or []
        if not isinstance(trace, list) or not all(isinstance(f, str) for f in trace):
            raise BrowserRunInvalid("error.stackTrace: a list of strings")
        error = {
            "errorMessage": str(error.get("errorMessage", ""))[:10_000],
            "errorType": str(error.get("errorType", ""))[:200],
            "requestId": str(request_id),
            "stackTrace": [frame[:2000] for frame in trace[:200]],
        }
        result = None
    elif status != Invocation.OK:
        raise BrowserRunInvalid("error: required unless the status is ok")
    if result is not None and len(json.dumps(result)) > settings.SANDBOX["PAYLOAD_BYTES"]:
        raise BrowserRunInvalid("result: over the payload limit")
    if not cold:
        init_ms = None
    prices = prices_from_settings()
    billed = billing.billed_duration_ms(duration_ms, init_ms, prices.bill_init_phase)
    gb_s = billing.gb_seconds(memory_mb, billed)
    return {
        "request_id": request_id,
        "status": status,
        "trigger": "browser",
        "event": event,
        "cold": cold,
        "init_duration_ms": init_ms,
        "duration_ms": duration_ms,
        "billed_duration_ms": billed,
        "memory_size_mb": memory_mb,
        "max_memory_used_mb": used_mb,
        "gb_seconds": gb_s,
        "cost_usd": billing.cost_usd(gb_s, 1, prices),
        "result": result,
        "error": error,
        "logs": log_text,
        "logs_truncated": truncated,
        "worker_id": "browser",
    }


@require_POST
def browser_run(request, slug):
    """Record an invocation that ran in the learner's browser (Pyodide), with the history.
    CSRF-protected (the page sends X-CSRFToken), owner only; nothing is executed here."""
    from django.utils import timezone

    function = own_function(request, slug)
    if request.content_type != "application/json":
        return JsonResponse({"error": "send application/json"}, status=415)
    try:
        data = json.loads(request.body or b"")
        fields = _browser_run_fields(data)
    except (ValueError, BrowserRunInvalid) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if Invocation.objects.filter(request_id=fields["request_id"]).exists():
        return JsonResponse({"error": "this request id is already recorded"}, status=409)
    now = timezone.now()
    invocation = Invocation.objects.create(
        function=function, started=now, finished=now, created=now, **fields
    )
    context = {"function": function}
    context.update(totals_context(request.user))
    context.update(history_page(function, 1))
    html = render(request, "sandbox/fragments/totals.html", context).content.decode()
    html += render(request, "sandbox/fragments/history.html", context).content.decode()
    return JsonResponse(
        {
            "request_id": str(invocation.request_id),
            "billed_duration_ms": invocation.billed_duration_ms,
            "gb_seconds": invocation.gb_seconds,
            "cost_usd": invocation.cost_usd,
            "html": html,
        },
        status=201,
    )
