"""The JSON API under /api/, for scripts, instructors, autograders and the load generator, built
with django-ninja: typed bodies (sandbox/web/api_schemas.py), an OpenAPI 3 document at
/api/openapi.json and interactive docs at /api/docs (Swagger UI, vendored: no CDN).

Auth and the error shape are sandbox/web/api_access.py's: `Authorization: Bearer <token>` or the
session (CSRF on writes); errors are {"error": {"code", "message"}} with the matching status,
including 404 for unknown /api/ paths and 405 for a method a path does not take.
"""

import json

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.parser import Parser

from sandbox.db_threads import in_db_thread
from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.engine.rules import logconfig
from sandbox.layers.attach import clean_layer_list
from sandbox.models import DEFAULT_CODE, Function, Invocation, LoadTest, PowerTuning
from sandbox.versions import VersionsError
from sandbox.web.api_access import (
    ApiAccess,
    ApiError,
    error_response,
    json_object,
    owned_function,
)
from sandbox.web.api_layers import router as layers_router
from sandbox.web.api_schemas import (
    FunctionCreated,
    FunctionIn,
    FunctionList,
    FunctionOut,
    InvocationList,
    InvocationQueued,
    InvocationRecord,
    InvokeIn,
    Metrics,
    PowerTuningIn,
    PowerTuningOut,
    errors,
)
from sandbox.web.fields import ConfigError
from sandbox.web.forms import apply_concurrency, clean_config
from sandbox.web.metric_series import BadWindow, function_series
from sandbox.web.metrics import function_metrics
from sandbox.web.public_url import public_url
from sandbox.web.tuning_runs import create_run, request_stop, run_report, size_choices
from sandbox.worker import (
    configure_function,
    ensure_embedded_worker,
    start_invocation,
    start_power_tuning,
    validate_event,
    wait_until_finished,
)

BODY_PARAMS = {"payload"}  # the name every operation gives its body
NO_FIELDS, EMPTY_INVOKE = FunctionIn(), InvokeIn()  # what no body means (an empty object)
DEFAULT_TUNING = PowerTuningIn()


class JsonObjectParser(Parser):
    def parse_body(self, request):
        return json_object(request.body)


class LocalSwagger(DocsBase):
    """Swagger UI from static/vendor (scripts/vendor-assets.sh copies it from npm)."""

    def render_page(self, request, api, **kwargs):
        config = {"url": self.get_openapi_url(api, kwargs), "dom_id": "#swagger-ui", "deepLinking": True}
        return render(request, "api/docs.html", {"api": api, "swagger_config": config})


api = NinjaAPI(
    title="Coldstart API",
    version="1",
    description=(
        "Create, configure and invoke sandboxed Lambda-style functions, publish layers for them, read "
        "their invocations and their scaling metrics. Authenticate with `Authorization: Bearer <token>`, "
        "or with the browser session (send the CSRF token on writes). Every error is "
        '`{"error": {"code": ..., "message": ...}}` with the matching HTTP status.'
    ),
    auth=ApiAccess(),
    parser=JsonObjectParser(),
    docs=LocalSwagger(),
    urls_namespace="api",
)
api.add_router("/layers", layers_router)


# ------------------------------------------------------------------------------------ errors


@api.exception_handler(ApiError)
def _api_error(request, exc):
    return exc.response()


@api.exception_handler(HttpError)
def _http_error(request, exc):
    if isinstance(exc.__cause__, ApiError):  # raised by the parser, wrapped by django-ninja
        return exc.__cause__.response()
    if isinstance(exc, AuthenticationError):
        return error_response(401, "Unauthorized", "Sign in, or send 'Authorization: Bearer <token>'.")
    return error_response(exc.status_code, "InvalidRequest" if exc.status_code == 400 else "Error", str(exc))


@api.exception_handler(ValidationError)
def _validation_error(request, exc):
    return error_response(400, "InvalidRequest", validation_message(exc.errors))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(404, "NotFound", str(exc) or "Not found.")


def validation_message(problems):
    """'field: problem' for each problem; unknown fields named together, as before the schema."""
    unknown = sorted(str(p["loc"][-1]) for p in problems if p.get("type") == "extra_forbidden")
    if unknown:
        return f"Unknown field(s): {', '.join(unknown)}."
    parts = []
    for problem in problems:
        where = [str(part) for part in problem["loc"][1:] if part not in BODY_PARAMS]
        parts.append(f"{'.'.join(where) or 'body'}: {problem['msg']}")
    return "; ".join(parts)


def not_found(request, *args, **kwargs):
    """Any /api/ path the API does not have."""
    return error_response(404, "NotFound", f"No API endpoint at {request.path}; see /api/docs.")


def json_method_errors(view):
    """django-ninja answers a method a path does not take with a plain-text 405: give it the
    API's error shape."""

    def convert(request, response):
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = sorted(m.strip() for m in response["Allow"].split(","))
        answer = error_response(
            405, "MethodNotAllowed", f"{request.method} is not allowed here; use {', '.join(allowed)}."
        )
        answer["Allow"] = ", ".join(allowed)
        return answer

    if iscoroutinefunction(view):

        async def async_view(request, *args, **kwargs):
            return convert(request, await view(request, *args, **kwargs))

        wrapped = async_view
    else:

        def wrapped(request, *args, **kwargs):
            return convert(request, view(request, *args, **kwargs))

    wrapped.csrf_exempt = True
    return wrapped


def urlpatterns():
    """The API's URL patterns (to include under api/), each answering errors in JSON."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        # django-ninja's root view is an HTML 404 (or a redirect under DEBUG): /api/ is unknown.
        view = not_found if pattern.name == "api-root" else pattern.callback
        pattern.callback = json_method_errors(view)
    return patterns, app_name, namespace


# ------------------------------------------------------------------------------------ helpers


def _function_json(request, function):
    return {
        "slug": function.slug,
        "name": function.name,
        "code": function.code,
        "handler": function.handler,
        "memory_mb": function.memory_mb,
        "timeout_s": function.timeout_s,
        "environment": function.environment,
        "logging": logconfig.normalise(function.logging),
        "reserved_concurrency": function.reserved_concurrency,
        "layers": list(function.layers or []),
        "url": public_url(request, function.get_absolute_url()),
        "invoke_url": public_url(request, reverse("api:invocations", args=[function.slug])),
    }


FIELDS = {"name", "code", "handler", "memory_mb", "timeout_s", "environment", "logging"}
CONCURRENCY_FIELDS = {"reserved_concurrency"}


def _sent(payload):
    """The fields the client sent (a PUT changes only those; no body is an empty object)."""
    return payload.model_dump(exclude_unset=True)


def _save(function, data, partial):
    """Validate `data` (400 naming the field) and save it; the worker hears of concurrency."""
    if data.get("provisioned_concurrency") is not None:
        raise ApiError(
            400,
            "InvalidParameterValueException",
            "Provisioned concurrency is configured on a published version or an alias, never on the "
            f"function ($LATEST): PUT /api/functions/{function.slug or '<slug>'}/aliases/<name> with "
            '{"function_version": "1", "provisioned_concurrency": N}.',
        )
    try:
        cleaned = clean_config(
            {k: v for k, v in data.items() if k in FIELDS}, partial=partial, current_logging=function.logging
        )
        if "layers" in data:
            code = cleaned.get("code", function.code)
            cleaned["layers"] = clean_layer_list(function.owner, data["layers"], code)
        for key, value in cleaned.items():
            setattr(function, key, value)
        function.save()
        concurrency = {k: v for k, v in data.items() if k in CONCURRENCY_FIELDS}
        if apply_concurrency(function, concurrency):
            async_to_sync(configure_function)(function)
    except ConfigError as exc:
        raise ApiError(400, "InvalidRequest", f"{exc.field}: {exc}") from None
    return function


# ------------------------------------------------------------------------------------ functions


@api.get(
    "/functions", response={200: FunctionList, **errors(401)}, tags=["functions"], summary="Your functions"
)
async def list_functions(request):
    functions = await sync_to_async(list)(request.auth.functions.all())
    return {"functions": [_function_json(request, f) for f in functions]}


@api.post(
    "/functions",
    response={201: FunctionCreated, **errors(400, 401, 403, 413)},
    tags=["functions"],
    summary="Create a function",
)
async def create_function(request, payload: FunctionIn = NO_FIELDS):
    data = _sent(payload)
    data.setdefault("code", DEFAULT_CODE)
    function = await sync_to_async(_save)(Function(owner=request.auth), data, partial=False)
    body = _function_json(request, function)
    return Status(201, {k: body[k] for k in ("slug", "url", "invoke_url")})


@api.get(
    "/functions/{slug}",
    response={200: FunctionOut, **errors(401, 403, 404)},
    tags=["functions"],
    summary="One function",
    url_name="function",
)
async def get_function(request, slug: str):
    function = await sync_to_async(owned_function)(request.auth, slug)
    return _function_json(request, function)


@api.put(
    "/functions/{slug}",
    response={200: FunctionOut, **errors(400, 401, 403, 404, 413)},
    tags=["functions"],
    summary="Change the fields sent",
)
async def update_function(request, slug: str, payload: FunctionIn = NO_FIELDS):
    function = await sync_to_async(owned_function)(request.auth, slug)
    await sync_to_async(_save)(function, _sent(payload), partial=True)
    return _function_json(request, function)


@api.delete(
    "/functions/{slug}", response={204: None, **errors(401, 403, 404)}, tags=["functions"], summary="Delete"
)
async def delete_function(request, slug: str):
    function = await sync_to_async(owned_function)(request.auth, slug)
    await function.adelete()
    return HttpResponse(status=204)


# ------------------------------------------------------------------------------------ invocations


@api.get(
    "/functions/{slug}/invocations",
    response={200: InvocationList, **errors(400, 401, 403, 404)},
    tags=["invocations"],
    summary="Recent invocations, most recent first",
    url_name="invocations",
)
async def list_invocations(request, slug: str, limit: int = 20):
    function = await sync_to_async(owned_function)(request.auth, slug)
    limit = max(1, min(200, limit))
    items = await sync_to_async(list)(function.invocations.all()[:limit])
    return {"invocations": [i.as_json() for i in items]}


@api.post(
    "/functions/{slug}/invocations",
    response={
        200: InvocationRecord,
        202: InvocationQueued,
        **errors(400, 401, 403, 404, 413, 429, 503, 504),
    },
    tags=["invocations"],
    summary="Invoke: wait for the record (RequestResponse) or queue it (Event, 202)",
)
async def invoke(request, slug: str, payload: InvokeIn = EMPTY_INVOKE, qualifier: str = ""):
    """`qualifier`: a version number or an alias name; $LATEST (the editable code) when empty.
    A Bearer call that is well formed is answered by sandbox/web/fast_invoke.py instead."""
    function = await in_db_thread(owned_function)(request.auth, slug)
    return await invoke_function(function, payload, qualifier)


async def invoke_function(function, payload, qualifier=""):
    """The invoke call's answer for the caller's own `function` (this view's, and the Bearer fast
    path's in sandbox/web/fast_invoke.py): a JsonResponse, or ApiError."""
    try:
        # The body was parsed already: a string event is a JSON string, not JSON text.
        event_json = validate_event(json.dumps(payload.event, ensure_ascii=False))
    except PayloadTooLarge as exc:
        raise ApiError(413, "RequestEntityTooLargeException", str(exc)) from None
    except InvalidEvent as exc:
        raise ApiError(400, "InvalidRequest", f"event: {exc}") from None
    if payload.invocation_type == "Event":  # stored, run and retried by the triggers app's async queue
        from triggers.asyncinvoke import enqueue

        try:
            event = await in_db_thread(enqueue, writes=True)(function, event_json, "api", qualifier)
        except VersionsError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        ensure_embedded_worker()
        return Status(202, {"request_id": str(event.request_id)})
    try:
        invocation = await start_invocation(function, event_json, trigger="api", qualifier=qualifier)
    except VersionsError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    invocation = await wait_until_finished(invocation)
    if invocation.status == Invocation.THROTTLED:
        error = invocation.error or {}
        raise ApiError(
            429,
            "TooManyRequestsException",
            error.get("errorMessage", "Rate exceeded"),
            reason=error.get("Reason", "ConcurrentInvocationLimitExceeded"),
        )
    if not invocation.is_finished:
        raise ApiError(504, "GatewayTimeout", "The invocation did not finish in time; see its history.")
    if invocation.status == Invocation.FAILED:
        raise ApiError(503, "ServiceUnavailable", invocation.failure_reason or "The sandbox worker failed.")
    response = JsonResponse(invocation.as_json())
    response["X-Amz-Executed-Version"] = invocation.executed_version  # as Lambda's Invoke answers
    return response


@api.get(
    "/functions/{slug}/metrics",
    response={200: Metrics, **errors(400, 401, 403, 404)},
    tags=["metrics"],
    summary="The scaling picture (?load_test=<id>, or the last 10 minutes) and CloudWatch-style series",
)
async def metrics(
    request,
    slug: str,
    load_test: int | None = None,
    period: int | None = Query(None, description="Seconds per point (default 60; 10 with CLASSROOM_SPEED)."),
    range_s: int | None = Query(None, alias="range", description="Seconds of history (default 60 periods)."),
    version: str | None = Query(None, description="One version's invocations: $LATEST, 1, 2, …"),
):
    return await sync_to_async(_metrics)(request.auth, slug, load_test, period, range_s, version)


def _metrics(user, slug, load_test_id, period, range_s, version):
    function = owned_function(user, slug)
    load_test = None
    if load_test_id is not None:
        load_test = LoadTest.objects.filter(function=function, pk=load_test_id).first()
        if load_test is None:
            raise ApiError(404, "NotFound", "No such load test for this function.")
    try:
        series = function_series(function, period, range_s, version)
    except BadWindow as exc:
        raise ApiError(400, "InvalidRequest", str(exc)) from None
    return {**function_metrics(function, load_test), **series}


# ------------------------------------------------------------------------------------ power tuning


@api.post(
    "/functions/{slug}/power-tunings",
    response={201: PowerTuningOut, **errors(400, 401, 403, 404, 409, 413)},
    tags=["power tuning"],
    summary="Start a power-tuning run: N invocations in series at each memory size",
)
async def start_tuning(request, slug: str, payload: PowerTuningIn = DEFAULT_TUNING):
    function = await sync_to_async(owned_function)(request.auth, slug)
    run = await sync_to_async(_create_tuning)(function, payload)
    await start_power_tuning(run)
    return Status(201, await sync_to_async(run_report)(run))


def _create_tuning(function, payload):
    sizes = payload.memory_sizes if payload.memory_sizes is not None else size_choices()
    try:
        return create_run(
            function, [str(size) for size in sizes], payload.invocations_per_size, json.dumps(payload.event)
        )
    except ConfigError as exc:
        status = 409 if exc.field == "power_tuning" else 400
        raise ApiError(
            status, "Conflict" if status == 409 else "InvalidRequest", f"{exc.field}: {exc}"
        ) from None


@api.get(
    "/functions/{slug}/power-tunings/{run_id}",
    response={200: PowerTuningOut, **errors(401, 403, 404)},
    tags=["power tuning"],
    summary="A run's progress and results, the cheapest and the fastest size marked",
)
async def get_tuning(request, slug: str, run_id: int):
    return await sync_to_async(_tuning_report)(request.auth, slug, run_id)


@api.post(
    "/functions/{slug}/power-tunings/{run_id}/stop",
    response={200: PowerTuningOut, **errors(401, 403, 404)},
    tags=["power tuning"],
    summary="Stop a run: the invocation in flight finishes, no other starts",
)
async def stop_tuning(request, slug: str, run_id: int):
    function = await sync_to_async(owned_function)(request.auth, slug)
    await sync_to_async(request_stop)(function, run_id)
    return await sync_to_async(_tuning_report)(request.auth, slug, run_id)


def _tuning_report(user, slug, run_id):
    function = owned_function(user, slug)
    run = PowerTuning.objects.filter(function=function, pk=run_id).first()
    if run is None:
        raise ApiError(404, "NotFound", f"No power-tuning run {run_id} for this function.")
    return run_report(run)
