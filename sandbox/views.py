import json

from asgiref.sync import sync_to_async
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from . import events
from .dispatch import (
    configure_function,
    start_invocation,
    start_load_test,
    validate_event,
    wait_until_finished,
)
from .forms import ConfigError, apply_concurrency, apply_config, clean_config
from .invocation import InvalidEvent, PayloadTooLarge
from .learners import ensure_learner
from .metrics import function_metrics
from .models import ApiToken, Function, Invocation, LoadTest
from .presenters import history_page, result_context, totals_context
from .status import isolation_status

CROSS_ORIGIN_ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
MEMORY_CHOICES = [128, 256, 512, 1024, 1769, 2048, 3008, 4096, 10240]


@require_GET
def home(request):
    functions = Function.objects.filter(owner=request.user) if request.user.is_authenticated else []
    return render(request, "home.html", {"functions": functions})


@require_POST
def function_new(request):
    user = ensure_learner(request)
    try:
        cleaned = clean_config({"name": request.POST.get("name", "")}, partial=True)
    except ConfigError:
        cleaned = {"name": "hello-world"}
    function = Function.objects.create(owner=user, name=cleaned["name"])
    return redirect(function)


def _own_function(request, slug):
    if not request.user.is_authenticated:
        raise Http404("No such function")
    return get_object_or_404(Function, slug=slug, owner=request.user)


def _page_context(request, function, **extra):
    last = function.invocations.first()
    context = {
        "function": function,
        "last": last,
        "memory_choices": sorted(set(MEMORY_CHOICES) | {function.memory_mb}),
        "event_templates": [(key, label) for key, (label, _) in events.TEMPLATES.items()],
        "templates_json": {key: build() for key, (_, build) in events.TEMPLATES.items()},
        "event_json": json.dumps(events.TEMPLATES["custom"][1](), indent=2),
        "api_token": ApiToken.for_user(request.user).key,
    }
    if last is not None:
        context.update(result_context(last))
    context.update(totals_context(request.user))
    context.update(history_page(function, 1))
    context.update(extra)
    return context


@require_GET
def function_page(request, slug):
    function = _own_function(request, slug)
    response = render(request, "sandbox/function.html", _page_context(request, function))
    # Cross-origin isolation, so "Run on: my browser" can interrupt a runaway handler through a
    # SharedArrayBuffer (static files get the same headers in config/asgi.py).
    for header, value in CROSS_ORIGIN_ISOLATION.items():
        response[header] = value
    return response


@require_GET
def history(request, slug):
    function = _own_function(request, slug)
    return render(
        request, "sandbox/fragments/history.html", history_page(function, request.GET.get("page", 1))
    )


@require_GET
def invocation_detail(request, slug, request_id):
    function = _own_function(request, slug)
    invocation = get_object_or_404(Invocation, function=function, request_id=request_id)
    context = result_context(invocation)
    if request.headers.get("HX-Request"):
        return render(request, "sandbox/fragments/invocation_detail.html", context)
    return render(request, "sandbox/invocation.html", dict(context, function=function))


async def function_invoke(request, slug):
    """The no-JavaScript path: save, invoke through the worker, wait, re-render the page."""
    if request.method != "POST":
        return redirect("function", slug=slug)
    function = await sync_to_async(_own_function)(request, slug)
    error = None
    try:
        function = await sync_to_async(apply_config)(function, request.POST)
        event_json = validate_event(request.POST.get("event") or "{}")
    except (ConfigError, InvalidEvent, PayloadTooLarge) as exc:
        error = str(exc)
    if error is None:
        invocation = await start_invocation(function, event_json, "console")
        await wait_until_finished(invocation)
    context = await sync_to_async(_page_context)(request, function, form_error=error)
    if error:
        context["event_json"] = request.POST.get("event", "")
    return await sync_to_async(render)(request, "sandbox/function.html", context)


@require_GET
def healthz(request):
    iso = isolation_status()
    return JsonResponse({"status": "ok", "isolation_level": iso.level, "isolation_missing": iso.missing})


# ---------------------------------------------------------------- scaling
def _scale_context(request, function, **extra):
    from django.conf import settings

    context = {
        "function": function,
        "load_tests": function.load_tests.all()[:5],
        "current": function.load_tests.filter(status=LoadTest.RUNNING).first(),
        "limits": LoadTest,
        "scaling": settings.SCALING,
        "classroom_speed": settings.CLASSROOM_SPEED,
        "host_cap": settings.SANDBOX["MAX_ENVIRONMENTS"],
    }
    context.update(extra)
    return context


@require_GET
def scale_page(request, slug):
    function = _own_function(request, slug)
    return render(request, "sandbox/scale.html", _scale_context(request, function))


async def scale_config(request, slug):
    if request.method != "POST":
        return redirect("scale", slug=slug)
    function = await sync_to_async(_own_function)(request, slug)
    message = error = None
    try:
        changed = await sync_to_async(apply_concurrency)(function, request.POST)
        if changed:
            await configure_function(function)
        message = "Saved. " + _concurrency_summary(function) if changed else "Nothing changed."
    except ConfigError as exc:
        error = str(exc)
    context = await sync_to_async(_scale_context)(
        request, function, config_message=message, config_error=error
    )
    template = (
        "sandbox/fragments/scale_config.html" if request.headers.get("HX-Request") else "sandbox/scale.html"
    )
    return await sync_to_async(render)(request, template, context)


def _concurrency_summary(function):
    reserved = (
        "unreserved"
        if function.reserved_concurrency is None
        else (f"reserved concurrency {function.reserved_concurrency}")
    )
    return f"{reserved}, provisioned concurrency {function.provisioned_concurrency}."


async def load_start(request, slug):
    if request.method != "POST":
        return redirect("scale", slug=slug)
    function = await sync_to_async(_own_function)(request, slug)
    try:
        load_test = await sync_to_async(_create_load_test)(function, request.POST)
    except ConfigError as exc:
        context = await sync_to_async(_scale_context)(request, function, load_error=str(exc))
        return await sync_to_async(render)(request, "sandbox/scale.html", context, status=400)
    await start_load_test(load_test)
    return redirect(f"{reverse('scale', args=[slug])}?load_test={load_test.pk}")


def _create_load_test(function, data):
    from .forms import _int_field

    if function.load_tests.filter(status=LoadTest.RUNNING).exists():
        raise ConfigError("load", "A load test is already running for this function; stop it first.")
    mode = data.get("mode", LoadTest.COUNT)
    if mode not in (LoadTest.COUNT, LoadTest.RATE):
        raise ConfigError("mode", "Choose 'N requests at concurrency C' or 'R requests/s for T seconds'.")
    try:
        event_json = validate_event(data.get("event") or "{}")
    except (InvalidEvent, PayloadTooLarge) as exc:
        raise ConfigError("event", str(exc)) from None
    fields = {"function": function, "mode": mode, "event": event_json}
    if mode == LoadTest.COUNT:
        fields["requests"] = _int_field(data, "requests", 1, LoadTest.MAX_REQUESTS, "Requests")
        fields["concurrency"] = _int_field(data, "concurrency", 1, LoadTest.MAX_CONCURRENCY, "Concurrency")
    else:
        fields["rate"] = _int_field(data, "rate", 1, LoadTest.MAX_RATE, "Requests per second")
        fields["seconds"] = _int_field(data, "seconds", 1, LoadTest.MAX_SECONDS, "Seconds")
    return LoadTest.objects.create(**fields)


@require_POST
def load_stop(request, slug):
    function = _own_function(request, slug)
    function.load_tests.filter(status=LoadTest.RUNNING).update(stop_requested=True)
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    return redirect("scale", slug=slug)


@require_GET
def metrics_json(request, slug):
    function = _own_function(request, slug)
    load_test = None
    if request.GET.get("load_test"):
        load_test = get_object_or_404(LoadTest, function=function, pk=request.GET["load_test"])
    return JsonResponse(function_metrics(function, load_test))


# ---------------------------------------------------------------- browser runs (issue 7)
BROWSER_STATUSES = (Invocation.OK, Invocation.ERROR, Invocation.TIMEOUT)
BROWSER_MAX_LOG_LINES = 10_000
BROWSER_MAX_DURATION_MS = 900_000 + 60_000  # the longest timeout plus the grace period
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

    from . import billing
    from .engine import prices_from_settings

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
    memory_mb = _number(data, "memory_size_mb", 128, 10240, integer=True)
    used_mb = _number(data, "max_memory_used_mb", 0, 10240, integer=True)
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

    function = _own_function(request, slug)
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
