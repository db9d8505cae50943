"""Who may use the JSON APIs, and their error shape, shared by the functions API (sandbox/web/api.py)
and the buckets' and queues' API (triggers/views/api.py).

Auth: `Authorization: Bearer <token>` (stored hashed, see ApiToken), or the browser session with
the CSRF token on writes. Errors: {"error": {"code", "message", ...}} with the matching status.
"""

import inspect
import json
from functools import wraps

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from ninja.security import HttpBearer

from sandbox.models import ApiToken, Function

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
BODY_LIMIT = settings.SANDBOX["PAYLOAD_BYTES"] + 64 * 1024  # the event plus its JSON wrapping


class ApiError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self):
        return error_response(self.status, self.code, self.message, **self.extra)


def error_response(status, code, message, **extra):
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def authenticate(request):
    """The user making `request`, or ApiError 401/403. Synchronous: it reads the database."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, "Unauthorized", "Use 'Authorization: Bearer <token>'.")
        user = ApiToken.user_for(key.strip())
        if user is None:
            raise ApiError(401, "Unauthorized", "That API token is not valid.")
        return user
    if not request.user.is_authenticated:
        raise ApiError(401, "Unauthorized", "Sign in, or send 'Authorization: Bearer <token>'.")
    if request.method not in SAFE_METHODS:
        rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejected is not None:
            raise ApiError(403, "Forbidden", "CSRF check failed: send the CSRF token, or use a Bearer token.")
    return request.user


def check_body_size(request, limit=BODY_LIMIT):
    """ApiError 413 when Content-Length says the body is over `limit` (before it is read)."""
    length = int(request.headers.get("Content-Length") or 0)
    if length > limit:
        raise ApiError(
            413,
            "RequestEntityTooLargeException",
            f"The request body is {length} bytes; the limit is {limit} bytes.",
        )


def json_object(body):
    """The request body as a JSON object ({} when empty), or ApiError 400 saying why not."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "InvalidRequest", f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "InvalidRequest", "The body must be a JSON object.")
    return data


def owned_function(user, slug):
    """The function `slug` of `user`, or ApiError 404 (none) / 403 (someone else's)."""
    function = Function.objects.filter(slug=slug).first()
    if function is None:
        raise ApiError(404, "NotFound", f"No function {slug!r}.")
    if function.owner_id != user.id:
        raise ApiError(403, "Forbidden", f"The function {slug!r} belongs to someone else.")
    return function


def api_endpoint(methods):
    """For views outside the OpenAPI schema (buckets, queues: raw bodies, paths outside /api/):
    JSON errors, the allowed methods, and authentication, for sync and async views alike."""

    def decorate(view):
        def check_method(request):
            if request.method not in methods:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    f"{request.method} is not allowed here; use {', '.join(methods)}.",
                )

        if inspect.iscoroutinefunction(view):

            @csrf_exempt
            @wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                try:
                    check_method(request)
                    user = await sync_to_async(authenticate)(request)
                    return await view(request, user, *args, **kwargs)
                except ApiError as exc:
                    return exc.response()

            return async_wrapper

        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                check_method(request)
                return view(request, authenticate(request), *args, **kwargs)
            except ApiError as exc:
                return exc.response()

        return wrapper

    return decorate


class ApiAccess(HttpBearer):
    """django-ninja's auth for the functions API: a Bearer token or the session (see
    `authenticate`); then the body's size, from Content-Length, so an oversized body is refused
    before it is read. `body_limit` is the event's by default; a layer upload takes a zip's."""

    openapi_description = "An API token: `manage.py create_api_token USERNAME`, or the playground page."

    def __init__(self, body_limit=BODY_LIMIT):
        super().__init__()
        self.body_limit = body_limit

    def __call__(self, request):
        user = authenticate(request)
        check_body_size(request, self.body_limit)
        return user

    def authenticate(self, request, token):  # the abstract hook; __call__ does the work
        return None
