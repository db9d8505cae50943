"""The HTTP trigger: `/fn/<slug>/<any path>`, any method, public (no auth, no CSRF), like a
Lambda function URL / API Gateway HTTP API with the payload format 2.0.

A function URL is anyone's code answering on this server, so it is kept away from the app's
sessions (docs/security.md): the app's own cookies never reach an event and a handler cannot set
or clear them; triggers/url_guard.py sandboxes every response; anonymous traffic is rate-limited
per client address and per function before anything is written to the database."""

import asyncio
import base64
import binascii
import json
import re
from http.cookies import CookieError, SimpleCookie

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.engine.rules import events
from sandbox.models import Function, Invocation
from sandbox.versions import VersionsError
from sandbox.web import ratelimit
from sandbox.worker import start_invocation, wait_until_finished

API_GATEWAY_TIMEOUT_S = 30.0  # HTTP API's integration timeout cap
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "+json",
    "+xml",
)


PREFIX = "/fn/"
# RFC 9110 token characters: a handler's header name must be one, or the response is a 500.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# What a handler may not set: the guard (triggers/url_guard.py) sets the first itself, the
# second would widen a service worker's scope, the last would clear the app's cookies.
HEADERS_NOT_FROM_HANDLERS = {"x-content-type-options", "service-worker-allowed", "clear-site-data"}


def app_cookie_names():
    """The app's own cookies, whatever their configured names: session, CSRF, flash messages."""
    names = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, CookieStorage.cookie_name}
    return {name.lower() for name in names}


def is_app_cookie(name):
    return name.strip().lower() in app_cookie_names()


def visitor_cookies(header):
    """The Cookie header as the event's `cookies` list, without the app's own cookies."""
    kept = []
    for part in header.split(";"):
        part = part.strip()
        if part and not (("=" in part) and is_app_cookie(part.split("=", 1)[0])):
            kept.append(part)
    return kept


def body_limit():
    """Raw body bytes accepted: base64 inflates by 4/3, and the event must stay under 6 MB."""
    return (settings.SANDBOX["PAYLOAD_BYTES"] - 64 * 1024) * 3 // 4


def _message(status, text):
    return JsonResponse({"message": text}, status=status)


def _is_text(content_type, body):
    kind = (content_type or "").lower()
    if body and not any(marker in kind for marker in TEXT_TYPES) and kind:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def build_event(request, path, body):
    headers = [(name.lower(), value) for name, value in request.headers.items() if name.lower() != "cookie"]
    cookies = visitor_cookies(request.headers.get("Cookie", ""))
    text = None
    is_base64 = False
    if body:
        if _is_text(request.headers.get("Content-Type"), body):
            text = body.decode("utf-8")
        else:
            text, is_base64 = base64.b64encode(body).decode(), True
    return events.http_api_v2(
        method=request.method,
        path=path,
        query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=text,
        cookies=cookies,
        source_ip=request.META.get("REMOTE_ADDR") or "127.0.0.1",
        is_base64=is_base64,
    )


def to_response(result):
    """The handler's return value -> the HTTP response, as API Gateway maps payload 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(
            json.dumps(result, ensure_ascii=False), status=200, content_type="application/json"
        )
    status = result.get("statusCode")
    headers = result.get("headers") or {}
    cookies = result.get("cookies") or []
    body = result.get("body", "")
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not 100 <= status <= 599
        or not isinstance(headers, dict)
        or not isinstance(cookies, list)
    ):
        return _message(500, "Internal Server Error")
    if body is None:
        body = ""
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False)
    if result.get("isBase64Encoded"):
        try:
            content = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _message(500, "Internal Server Error")
    else:
        content = body.encode()
    response = HttpResponse(content, status=status)
    if not any(name.lower() == "content-type" for name in headers):
        response["Content-Type"] = "application/json"
    for name, value in headers.items():
        name = str(name)
        if not HEADER_NAME.fullmatch(name):
            return _message(500, "Internal Server Error")
        if name.lower() == "set-cookie":
            cookies = [*cookies, str(value)]
            continue
        if name.lower() in HEADERS_NOT_FROM_HANDLERS:
            continue
        try:
            response[name] = str(value)
        except Exception:  # BadHeaderError: a newline in a header value
            return _message(500, "Internal Server Error")
    for raw in cookies:
        _add_cookies(response, str(raw))
    return response


def _add_cookies(response, raw):
    """A handler's cookie, re-serialised from what was parsed (nothing passes through raw),
    host-only (no Domain: no reaching a parent domain), never one of the app's own."""
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return
    for key, morsel in jar.items():
        if is_app_cookie(key):
            continue
        morsel["domain"] = ""
        response.cookies[key] = morsel


@sync_to_async
def _function(slug):
    return Function.objects.filter(slug=slug).first()


def _too_many(verdict):
    response = _message(429, "Too Many Requests")
    response["Retry-After"] = str(verdict.retry_after_s)
    return response


def _hit(name, ident, limit):
    return ratelimit.hit(name, ident, limit, 60)


@csrf_exempt
async def function_url(request, slug, path=""):
    # Rate limits first, before the body is read or anything is written to the database.
    abuse = settings.ABUSE
    hit = sync_to_async(_hit, thread_sensitive=False)
    address = ratelimit.client_address(request)
    verdict = await hit("fn-address", address, abuse["FUNCTION_URL_PER_ADDRESS_PER_MINUTE"])
    if not verdict.allowed:
        return _too_many(verdict)
    function = await _function(slug)
    if function is None:
        return _message(404, "Not Found")
    verdict = await hit("fn-function", function.pk, abuse["FUNCTION_URL_PER_FUNCTION_PER_MINUTE"])
    if not verdict.allowed:
        return _too_many(verdict)
    limit = body_limit()
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return _message(413, f"Request Entity Too Large: the body limit is {limit} bytes")
    try:
        body = request.body
    except RequestDataTooBig:
        return _message(413, f"Request Entity Too Large: the body limit is {limit} bytes")
    if len(body) > limit:
        return _message(413, f"Request Entity Too Large: the body limit is {limit} bytes")
    event = build_event(request, "/" + path, body)
    try:  # the URL invokes the alias (or version) it is bound to, $LATEST by default
        invocation = await start_invocation(
            function, json.dumps(event, ensure_ascii=False), trigger="http", qualifier=function.url_qualifier
        )
    except VersionsError:
        return _message(404, "Not Found")
    try:
        invocation = await asyncio.wait_for(wait_until_finished(invocation), API_GATEWAY_TIMEOUT_S)
    except TimeoutError:
        return _message(504, "Endpoint request timed out")
    status = invocation.status
    if status == Invocation.OK:
        return to_response(invocation.result)
    if status == Invocation.THROTTLED:
        return _message(429, "Too Many Requests")
    if status == Invocation.TIMEOUT:
        return _message(504, "Endpoint request timed out")
    return _message(502, "Internal Server Error")


function_url.csrf_exempt = True
