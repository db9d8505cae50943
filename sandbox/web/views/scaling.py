"""The Scaling tab: concurrency settings, load tests and the metrics behind the charts."""

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.models import LoadTest
from sandbox.web.fields import ConfigError, int_field
from sandbox.web.forms import apply_concurrency
from sandbox.web.metrics import function_metrics
from sandbox.web.ownership import own_function
from sandbox.worker import (
    configure_function,
    start_load_test,
    validate_event,
)


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
    function = own_function(request, slug)
    return render(request, "sandbox/scale.html", _scale_context(request, function))


async def scale_config(request, slug):
    if request.method != "POST":
        return redirect("scale", slug=slug)
    function = await sync_to_async(own_function)(request, slug)
    message = error = None
    try:
        changed = await sync_to_async(apply_concurrency)(function, request.POST)
        if changed:
            await configure_function(function)
        message = "Saved. " + _concurrency_summary(function) if changed else "Nothing changed."
    except ConfigError as exc:
        error = str(exc)
        await function.arefresh_from_db()  # show what is saved, not the refused value
    context = await sync_to_async(_scale_context)(
        request, function, config_message=message, config_error=error
    )
    template = (
        "sandbox/fragments/scale_config.html" if request.headers.get("HX-Request") else "sandbox/scale.html"
    )
    return await sync_to_async(render)(request, template, context, status=400 if error else 200)


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
    function = await sync_to_async(own_function)(request, slug)
    try:
        load_test = await sync_to_async(_create_load_test)(function, request.POST)
    except ConfigError as exc:
        context = await sync_to_async(_scale_context)(request, function, load_error=str(exc))
        return await sync_to_async(render)(request, "sandbox/scale.html", context, status=400)
    await start_load_test(load_test)
    return redirect(f"{reverse('scale', args=[slug])}?load_test={load_test.pk}")


def _create_load_test(function, data):
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
        fields["requests"] = int_field(data, "requests", 1, LoadTest.MAX_REQUESTS, "Requests")
        fields["concurrency"] = int_field(data, "concurrency", 1, LoadTest.MAX_CONCURRENCY, "Concurrency")
    else:
        fields["rate"] = int_field(data, "rate", 1, LoadTest.MAX_RATE, "Requests per second")
        fields["seconds"] = int_field(data, "seconds", 1, LoadTest.MAX_SECONDS, "Seconds")
    return LoadTest.objects.create(**fields)


@require_POST
def load_stop(request, slug):
    function = own_function(request, slug)
    function.load_tests.filter(status=LoadTest.RUNNING).update(stop_requested=True)
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    return redirect("scale", slug=slug)


@require_GET
def metrics_json(request, slug):
    function = own_function(request, slug)
    load_test = None
    if request.GET.get("load_test"):
        load_test = get_object_or_404(LoadTest, function=function, pk=request.GET["load_test"])
    return JsonResponse(function_metrics(function, load_test))
