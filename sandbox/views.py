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
    return render(request, "sandbox/function.html", _page_context(request, function))


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
