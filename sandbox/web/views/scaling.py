"""The Scaling tab: concurrency settings, load tests and the metrics behind the charts."""

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sandbox import versions
from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.models import LoadTest
from sandbox.web.fields import ConfigError, int_field
from sandbox.web.forms import apply_concurrency
from sandbox.web.metrics import function_metrics
from sandbox.web.ownership import own_function
from sandbox.web.page_context import qualifier_choices
from sandbox.worker import (
    configure_function,
    start_load_test,
    validate_event,
)

# ---------------------------------------------------------------- scaling
LOAD_FIELDS = ("mode", "requests", "concurrency", "rate", "seconds", "event")


def load_form_values(function, shown_id=None, posted=None):
    """What the load form shows, so a run never wipes what was typed: the form just posted (after
    an error), else the settings of the load test on screen, else of the latest one."""
    if posted is not None:
        return {key: posted.get(key, "") for key in LOAD_FIELDS}
    tests = function.load_tests.all()
    source = tests.filter(pk=shown_id).first() if str(shown_id or "").isdigit() else None
    source = source or tests.first() or LoadTest()  # a new LoadTest holds the defaults
    return {key: getattr(source, key) for key in LOAD_FIELDS}


def _scale_context(request, function, posted=None, **extra):
    from django.conf import settings

    context = {
        "function": function,
        "load_form": load_form_values(function, request.GET.get("load_test"), posted),
        "load_tests": function.load_tests.all()[:5],
        "current": function.load_tests.filter(status=LoadTest.RUNNING).first(),
        "limits": LoadTest,
        "scaling": settings.SCALING,
        "classroom_speed": settings.CLASSROOM_SPEED,
        "host_cap": versions.provisioned_limit(),
        "provisioned_configs": _provisioned_rows(function),
        "qualifiers": qualifier_choices(function),
        "selected_qualifier": _last_qualifier(request, function),
        "default_alias": "live",
        "default_provisioned": versions.provisioned_of(function, "live") or 1,
    }
    context.update(extra)
    return context


def _provisioned_rows(function):
    rows = []
    for config in function.provisioned_configs.all():
        alias = function.aliases.filter(name=config.qualifier).first()
        runs = versions.alias_versions(alias) if alias else [config.qualifier]
        rows.append({"config": config, "runs": " + ".join(f"v{v}" for v in runs), "alias": alias is not None})
    return rows


def _last_qualifier(request, function):
    """The load generator invokes what the run on screen invoked (or $LATEST)."""
    load_test = function.load_tests.filter(pk__in=[request.GET.get("load_test") or 0]).first()
    load_test = load_test or function.load_tests.first()
    return load_test.qualifier if load_test else ""


@require_GET
def scale_page(request, slug):
    function = own_function(request, slug)
    return render(request, "sandbox/scale.html", _scale_context(request, function))


async def scale_config(request, slug):
    """Reserved concurrency (action "reserved"), or in one step: publish $LATEST, point an alias
    at it and give the alias provisioned concurrency (action "provision"; 0 removes it)."""
    if request.method != "POST":
        return redirect("scale", slug=slug)
    function = await sync_to_async(own_function)(request, slug)
    message = error = None
    try:
        if request.POST.get("action") == "provision":
            message = await sync_to_async(_provision)(function, request.POST)
            await configure_function(function)
        else:
            changed = await sync_to_async(apply_concurrency)(function, request.POST)
            if changed:
                await configure_function(function)
            message = "Saved. " + _concurrency_summary(function) if changed else "Nothing changed."
    except ConfigError as exc:
        error = str(exc)
        await function.arefresh_from_db()  # show what is saved, not the refused value
    except versions.VersionsError as exc:
        error = exc.message
        await function.arefresh_from_db()
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
    return f"The function is {reserved}."


def _provision(function, data):
    """The Scaling tab's one click: publish, point the alias, provision it."""
    alias = (data.get("alias") or "live").strip()
    count = int_field(
        data, "provisioned_concurrency", 0, versions.provisioned_limit(), "Provisioned concurrency"
    )
    if count == 0:
        versions.check_qualifier(function, alias)
        versions.set_provisioned(function, alias, 0)
        return f"Provisioned concurrency removed from alias {alias}."
    version, _ = versions.publish_and_point(function, alias, provisioned=count)
    return (
        f"Published version {version.number}; alias {alias} points at it with provisioned concurrency "
        f"{count}: its environments initialise now. Send load to alias {alias} to use them."
    )


async def load_start(request, slug):
    if request.method != "POST":
        return redirect("scale", slug=slug)
    function = await sync_to_async(own_function)(request, slug)
    try:
        load_test = await sync_to_async(_create_load_test)(function, request.POST)
    except ConfigError as exc:
        context = await sync_to_async(_scale_context)(request, function, request.POST, load_error=str(exc))
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
    qualifier = (data.get("qualifier") or "").strip()
    try:
        versions.check_qualifier(function, qualifier)
    except versions.VersionsError as exc:
        raise ConfigError("qualifier", exc.message) from None
    fields = {"function": function, "mode": mode, "event": event_json, "qualifier": qualifier}
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
