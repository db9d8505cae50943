"""ASGI guard for function URLs (outermost in config/asgi.py, so it sees every response).

Every response under /fn/ -- the handler's, and every error, from Django or from the body
limit -- is sandboxed: `Content-Security-Policy: sandbox allow-scripts allow-forms` puts the
page in an opaque origin (its scripts run, but cannot read the app's cookies, storage or pages,
nor register a service worker), `X-Content-Type-Options: nosniff`, no `Service-Worker-Allowed`,
no `Clear-Site-Data`, and no Set-Cookie for the app's own cookies. A handler's own CSP header
is kept: browsers enforce every policy they get, so it can only tighten ours.

With settings.FUNCTION_URL_BASE, function URLs live on that origin only: /fn/ on the app's
origin is a 308 redirect there (read nothing, run nothing), and anything else asked of the
function origin is a 404 (no app pages, static files or WebSockets there).
"""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port

from triggers.http import PREFIX, is_app_cookie

# No allow-same-origin (the document would get the app's origin back), no allow-top-navigation
# or allow-popups (not needed by a handler's page); forms may be sent (to the function URL itself:
# the app's forms refuse an Origin of "null" and the visitor's cookies are Lax).
SANDBOX_POLICY = b"sandbox allow-scripts allow-forms"
REMOVED = {b"service-worker-allowed", b"x-content-type-options", b"clear-site-data"}


def sandbox_headers(headers):
    """A function-URL response's headers, with the policy above applied."""
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower in REMOVED:
            continue
        if lower == b"set-cookie" and is_app_cookie(value.split(b"=", 1)[0].decode("latin-1")):
            continue
        kept.append((name, value))
    kept.append((b"content-security-policy", SANDBOX_POLICY))
    kept.append((b"x-content-type-options", b"nosniff"))
    return kept


def _host(scope):
    for name, value in scope.get("headers", []):
        if name == b"host":
            return split_domain_port(value.decode("latin-1"))
    return "", ""


def on_function_origin(scope, base):
    """Whether the request came to FUNCTION_URL_BASE's host (and port, when it names one)."""
    origin = urlsplit(base)
    host, port = _host(scope)
    want_host = f"[{origin.hostname}]" if ":" in origin.hostname else origin.hostname
    if host != want_host or (port and not port.isdigit()):
        return False
    default = {"http": 80, "https": 443}[origin.scheme]
    return int(port or default) == (origin.port or default)


async def _respond(send, status, body, headers=()):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": sandbox_headers([(b"content-type", b"application/json"), *headers]),
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


class FunctionUrlGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        base = settings.FUNCTION_URL_BASE
        is_function_url = scope["path"].startswith(PREFIX)
        elsewhere = bool(base) and on_function_origin(scope, base)
        if scope["type"] == "websocket":
            if elsewhere:  # nothing of the app on the function origin
                await receive()
                return await send({"type": "websocket.close", "code": 4404})
            return await self.app(scope, receive, send)
        if base and is_function_url and not elsewhere:
            query = scope.get("query_string", b"")
            location = base.encode() + (scope.get("raw_path") or scope["path"].encode())
            if query:
                location += b"?" + query
            return await _respond(
                send, 308, {"message": f"Function URLs are served on {base}"}, [(b"location", location)]
            )
        if elsewhere and not is_function_url:
            return await _respond(send, 404, {"message": "Not Found"})
        if not is_function_url:
            return await self.app(scope, receive, send)

        async def sandboxed(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=sandbox_headers(message.get("headers", [])))
            await send(message)

        return await self.app(scope, receive, sandboxed)
