"""The playground page, its history, one invocation, and the no-JS invoke form."""

from asgiref.sync import sync_to_async
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from sandbox import versions
from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.models import Invocation
from sandbox.web.fields import ConfigError
from sandbox.web.forms import apply_config
from sandbox.web.ownership import own_function
from sandbox.web.page_context import playground_context
from sandbox.web.presenters import history_page, result_context
from sandbox.worker import (
    start_invocation,
    validate_event,
    wait_until_finished,
)

CROSS_ORIGIN_ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


@require_GET
def function_page(request, slug):
    function = own_function(request, slug)
    response = render(request, "sandbox/function.html", playground_context(request, function))
    # Cross-origin isolation, so "Run on: my browser" can interrupt a runaway handler through a
    # SharedArrayBuffer (static files get the same headers in config/asgi.py).
    for header, value in CROSS_ORIGIN_ISOLATION.items():
        response[header] = value
    return response


@require_GET
def history(request, slug):
    function = own_function(request, slug)
    return render(
        request, "sandbox/fragments/history.html", history_page(function, request.GET.get("page", 1))
    )


@require_GET
def invocation_detail(request, slug, request_id):
    function = own_function(request, slug)
    invocation = get_object_or_404(Invocation, function=function, request_id=request_id)
    context = result_context(invocation)
    if request.headers.get("HX-Request"):
        return render(request, "sandbox/fragments/invocation_detail.html", context)
    return render(request, "sandbox/invocation.html", dict(context, function=function))


async def function_invoke(request, slug):
    """The no-JavaScript path: save, invoke through the worker, wait, re-render the page."""
    if request.method != "POST":
        return redirect("function", slug=slug)
    function = await sync_to_async(own_function)(request, slug)
    error = None
    try:
        function = await sync_to_async(apply_config)(function, request.POST)
        event_json = validate_event(request.POST.get("event") or "{}")
    except (ConfigError, InvalidEvent, PayloadTooLarge) as exc:
        error = str(exc)
    if error is None:
        try:
            invocation = await start_invocation(
                function, event_json, "console", qualifier=request.POST.get("qualifier", "")
            )
            await wait_until_finished(invocation)
        except versions.VersionsError as exc:
            error = exc.message
    context = await sync_to_async(playground_context)(request, function, form_error=error)
    if error:
        context["event_json"] = request.POST.get("event", "")
    return await sync_to_async(render)(request, "sandbox/function.html", context)
