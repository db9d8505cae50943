"""The JSON API's invoke call with a Bearer token, answered in front of Django's middleware.

`POST /api/functions/<slug>/invocations` with `Authorization: Bearer ...` is what scripts,
autograders and a class's tools send over and over. Through Django every request gets a thread
of its own (asgiref's per-request thread-sensitive context, started on the event loop), a hop to
it for each sync middleware and for the auth, and the static files middleware's lookup: with 40
API clients on two shared cores that cost more than the invocation (bench/README.md). Here a
well-formed call costs one database call (token and function) and the invocation itself; the
answer is the view's own (sandbox.web.api.invoke_function) with the headers Django's
middleware would add.

Only the plain success path is taken here. Anything else (no or a bad token, someone else's
function, an unknown host, an unknown query parameter, a body that is not a valid InvokeIn, an
Event invocation, a session) goes to Django with the body replayed, so every error answer,
limit and check stays Django's.
"""

import json
import re
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from pydantic import ValidationError

from sandbox.db_threads import in_db_thread
from sandbox.models import ApiToken, Function
from sandbox.web.api import invoke_function
from sandbox.web.api_access import BODY_LIMIT, ApiError
from sandbox.web.api_schemas import InvokeIn

PATH = re.compile(r"/api/functions/(?P<slug>[-a-zA-Z0-9_]+)/invocations")
# What Django's SecurityMiddleware and XFrameOptionsMiddleware add to a JSON response
# (tests/test_api_fast_invoke.py compares them with Django's answer).
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
INLINE_PARSE_BYTES = 64 * 1024  # a larger body (up to the 6 MB payload) is parsed off the loop


class FastInvoke:
    """ASGI wrapper: well-formed Bearer invoke calls answered here, everything else by `app`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        request = _fast_request(scope)
        if request is None:
            return await self.app(scope, receive, send)
        slug, key, qualifier, length = request
        body = await _read_body(receive, length)
        if body is None:  # the client went away, or sent more than it said
            return await self.app(scope, _replay(b"", receive, disconnected=True), send)
        payload = await _payload(body)
        function = await _own_function(key, slug) if payload is not None else None
        if function is None:
            return await self.app(scope, _replay(body, receive), send)
        try:
            response = await invoke_function(function, payload, qualifier)
        except ApiError as exc:
            response = exc.response()
        await _send(send, response)


def _fast_request(scope):
    """(slug, token, qualifier, body length) when the call may take the fast path, else None."""
    if scope["type"] != "http" or scope.get("method") != "POST":
        return None
    match = PATH.fullmatch(scope.get("path", ""))
    if match is None or settings.SECURE_SSL_REDIRECT:
        return None
    headers = {}
    for name, value in scope.get("headers", []):
        if name in headers:  # a repeated header: Django decides what it means
            return None
        headers[name] = value
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not key.strip() or b"cookie" in headers:
        return None
    host = headers.get(b"host", b"").decode("latin-1")
    if settings.USE_X_FORWARDED_HOST or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return None
    try:
        length = int(headers.get(b"content-length", b""))
    except ValueError:
        return None
    if not 0 <= length <= BODY_LIMIT:
        return None
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if any(name != "qualifier" for name, _ in query) or len(query) > 1:
        return None
    qualifier = query[0][1] if query else ""
    return match["slug"], key.strip(), qualifier, length


async def _read_body(receive, length):
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > length:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks) if size == length else None


async def _payload(body):
    """The body as an InvokeIn of a RequestResponse call, or None (Django says what is wrong)."""
    if len(body) > INLINE_PARSE_BYTES:
        return await sync_to_async(_parse, thread_sensitive=False)(body)
    return _parse(body)


def _parse(body):
    try:
        data = json.loads(body) if body else {}
        if not isinstance(data, dict):
            return None
        payload = InvokeIn.model_validate(data)
    except (ValueError, ValidationError):
        return None
    return payload if payload.invocation_type == "RequestResponse" else None


@in_db_thread
def _own_function(key, slug):
    """The token's user's function `slug` in one call, or None (not found, not theirs, no user)."""
    user = ApiToken.user_for(key)
    if user is None:
        return None
    return Function.objects.filter(slug=slug, owner=user).first()


def _replay(body, receive, disconnected=False):
    """A receive() that gives Django the body already read, then the connection's own."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _send(send, response):
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"content-length", str(len(response.content)).encode()))
    names = {name for name, _ in headers}
    headers += [(name, value) for name, value in SECURITY_HEADERS if name not in names]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
