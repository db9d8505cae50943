"""The JSON API, for scripts, instructors, autograders and the load generator.

Auth: the browser session (with CSRF on writes) or `Authorization: Bearer <token>`.
Errors: {"error": {"code", "message"}} with the matching status.
"""

import json
from functools import wraps

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.engine.rules import logconfig
from sandbox.models import DEFAULT_CODE, ApiToken, Function, Invocation, LoadTest
from sandbox.versions import VersionsError
from sandbox.web.fields import ConfigError
from sandbox.web.forms import apply_concurrency, clean_config
from sandbox.web.metrics import function_metrics
from sandbox.worker import (
    configure_function,
    ensure_embedded_worker,
    start_invocation,
    validate_event,
    wait_until_finished,
)

BODY_LIMIT = settings.SANDBOX["PAYLOAD_BYTES"] + 64 * 1024  # the event plus its JSON wrapping


class ApiError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self):
        return JsonResponse(
            {"error": {"code": self.code, "message": self.message, **self.extra}}, status=self.status
        )


def _authenticate(request):
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, "Unauthorized", "Use 'Authorization: Bearer <token>'.")
        token = ApiToken.objects.select_related("user").filter(key=key.strip()).first()
        if token is None or not token.user.is_active:
            raise ApiError(401, "Unauthorized", "That API token is not valid.")
        return token.user
    if not request.user.is_authenticated:
        raise ApiError(401, "Unauthorized", "Sign in, or send 'Authorization: Bearer <token>'.")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejected is not None:
            raise ApiError(403, "Forbidden", "CSRF check failed: send the CSRF token, or use a Bearer token.")
    return request.user


def _body(request):
    length = int(request.headers.get("Content-Length") or 0)
    if length > BODY_LIMIT:
        raise ApiError(
            413,
            "RequestEntityTooLargeException",
            f"The request body is {length} bytes; the limit is {BODY_LIMIT} bytes.",
        )
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError as exc:
        raise ApiError(400, "InvalidRequest", f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "InvalidRequest", "The body must be a JSON object.")
    return data


def _function_for(user, slug):
    function = Function.objects.filter(slug=slug).first()
    if function is None:
        raise ApiError(404, "NotFound", f"No function {slug!r}.")
    if function.owner_id != user.id:
        raise ApiError(403, "Forbidden", f"The function {slug!r} belongs to someone else.")
    return function


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
        "url": request.build_absolute_uri(function.get_absolute_url()),
        "invoke_url": request.build_absolute_uri(f"/api/functions/{function.slug}/invocations"),
    }


def api_endpoint(methods):
    """JSON errors, the allowed methods, and authentication for sync and async views alike."""

    def decorate(view):
        def check_method(request):
            if request.method not in methods:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    f"{request.method} is not allowed here; use {', '.join(methods)}.",
                )

        if _is_async(view):

            @csrf_exempt
            @wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                try:
                    check_method(request)
                    user = await sync_to_async(_authenticate)(request)
                    return await view(request, user, *args, **kwargs)
                except ApiError as exc:
                    return exc.response()

            async_wrapper.csrf_exempt = True
            return async_wrapper

        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                check_method(request)
                return view(request, _authenticate(request), *args, **kwargs)
            except ApiError as exc:
                return exc.response()

        return wrapper

    return decorate


def _is_async(view):
    import inspect

    return inspect.iscoroutinefunction(view)


FIELDS = {"name", "code", "handler", "memory_mb", "timeout_s", "environment", "logging"}
CONCURRENCY_FIELDS = {"reserved_concurrency"}


def _save(function, data, partial):
    """Validate `data` (400 naming the field) and save it; the worker hears of concurrency."""
    if "provisioned_concurrency" in data:
        raise ApiError(
            400,
            "InvalidParameterValueException",
            "Provisioned concurrency is configured on a published version or an alias, never on the "
            f"function ($LATEST): PUT /api/functions/{function.slug or '<slug>'}/aliases/<name> with "
            '{"function_version": "1", "provisioned_concurrency": N}.',
        )
    unknown = set(data) - FIELDS - CONCURRENCY_FIELDS
    if unknown:
        raise ApiError(400, "InvalidRequest", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    try:
        cleaned = clean_config(
            {k: v for k, v in data.items() if k in FIELDS}, partial=partial, current_logging=function.logging
        )
        for key, value in cleaned.items():
            setattr(function, key, value)
        function.save()
        concurrency = {k: v for k, v in data.items() if k in CONCURRENCY_FIELDS}
        if apply_concurrency(function, concurrency):
            async_to_sync(configure_function)(function)
    except ConfigError as exc:
        raise ApiError(400, "InvalidRequest", f"{exc.field}: {exc}") from None
    return function


@api_endpoint(["GET", "POST"])
def functions(request, user):
    if request.method == "GET":
        return JsonResponse({"functions": [_function_json(request, f) for f in user.functions.all()]})
    data = _body(request)
    data.setdefault("code", DEFAULT_CODE)
    function = _save(Function(owner=user), data, partial=False)
    body = _function_json(request, function)
    return JsonResponse({k: body[k] for k in ("slug", "url", "invoke_url")}, status=201)


@api_endpoint(["GET", "PUT", "DELETE"])
def function_detail(request, user, slug):
    function = _function_for(user, slug)
    if request.method == "GET":
        return JsonResponse(_function_json(request, function))
    if request.method == "DELETE":
        function.delete()
        return HttpResponse(status=204)
    _save(function, _body(request), partial=True)
    return JsonResponse(_function_json(request, function))


@api_endpoint(["GET", "POST"])
async def invocations(request, user, slug):
    function = await sync_to_async(_function_for)(user, slug)
    if request.method == "GET":
        return await sync_to_async(_list_invocations)(request, function)
    data = await sync_to_async(_body)(request)
    qualifier = request.GET.get("qualifier", "")  # a version number or an alias name
    invocation_type = data.get("invocation_type", "RequestResponse")
    if invocation_type not in ("RequestResponse", "Event"):
        raise ApiError(400, "InvalidRequest", "invocation_type must be RequestResponse or Event.")
    try:
        # The body was parsed already: a string event is a JSON string, not JSON text.
        event_json = validate_event(json.dumps(data.get("event", {}), ensure_ascii=False))
    except PayloadTooLarge as exc:
        raise ApiError(413, "RequestEntityTooLargeException", str(exc)) from None
    except InvalidEvent as exc:
        raise ApiError(400, "InvalidRequest", f"event: {exc}") from None
    if invocation_type == "Event":  # stored, run and retried by the triggers app's async queue
        from triggers.asyncinvoke import enqueue

        try:
            event = await sync_to_async(enqueue)(function, event_json, "api", qualifier)
        except VersionsError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        ensure_embedded_worker()
        return JsonResponse({"request_id": str(event.request_id)}, status=202)
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


def _list_invocations(request, function):
    try:
        limit = max(1, min(200, int(request.GET.get("limit", 20))))
    except ValueError:
        raise ApiError(400, "InvalidRequest", "limit must be a whole number.") from None
    items = function.invocations.all()[:limit]
    return JsonResponse({"invocations": [i.as_json() for i in items]})


@api_endpoint(["GET"])
def metrics(request, user, slug):
    """The scaling picture as JSON, for lesson checks: ?load_test=<id> or the last 10 minutes."""
    function = _function_for(user, slug)
    load_test = None
    if request.GET.get("load_test"):
        load_test = LoadTest.objects.filter(function=function, pk=request.GET["load_test"]).first()
        if load_test is None:
            raise ApiError(404, "NotFound", "No such load test for this function.")
    return JsonResponse(function_metrics(function, load_test))
