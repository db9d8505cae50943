"""The Bearer invoke call through the real ASGI application (config.asgi), which answers a
well-formed one in front of Django's middleware (sandbox/web/fast_invoke.py): the same record
and headers as Django's answer, and everything else still meets Django (errors, limits, CSRF
for sessions, unknown hosts)."""

import json
import textwrap

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application, django_asgi_app
from sandbox.models import ApiToken, Function, Invocation
from sandbox.web.fast_invoke import FastInvoke
from tests.playground_support import embedded_worker
from tests.sandbox_helpers import RECORD_KEYS

pytestmark = pytest.mark.django_db(transaction=True)

GREETER = textwrap.dedent(
    """
    def handler(event, context):
        print("hello", event.get("name"))
        return {"greeting": f"hello {event.get('name')}"}
    """
)


@pytest.fixture
async def worker(transactional_db, settings):
    async with embedded_worker(settings):
        yield


@sync_to_async
def learner(username, **function_fields):
    user = get_user_model().objects.create_user(username=username)
    function = Function.objects.create(owner=user, name=f"{username}-fn", code=GREETER, **function_fields)
    return ApiToken.issue(user), function


class DjangoCalls:
    """Django's ASGI app behind FastInvoke, counting the requests that reached it."""

    def __init__(self):
        self.paths = []
        self.app = FastInvoke(self._django)

    async def _django(self, scope, receive, send):
        self.paths.append(scope["path"])
        return await django_asgi_app(scope, receive, send)


async def post(path, body, token=None, host=b"localhost", extra=(), app=application, query=b""):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = [(b"host", host), (b"content-type", b"application/json"), *extra]
    headers.append((b"content-length", str(len(raw)).encode()))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    communicator = HttpCommunicator(app, "POST", path, raw, headers)
    if query:
        communicator.scope["query_string"] = query
    response = await communicator.get_response(timeout=30)
    return response["status"], dict(response["headers"]), response["body"]


def error(body):
    data = json.loads(body)
    assert set(data) == {"error"}, data
    return data["error"]


async def test_a_bearer_invoke_is_answered_before_django_with_django_s_headers(worker):
    token, function = await learner("ada")
    path = f"/api/functions/{function.slug}/invocations"
    calls = DjangoCalls()
    status, headers, body = await post(path, {"event": {"name": "Ada"}}, token, app=calls.app)
    assert status == 200, body
    assert calls.paths == []  # answered in front of Django
    record = json.loads(body)
    assert set(record) == RECORD_KEYS
    assert record["status"] == "ok" and record["result"] == {"greeting": "hello Ada"}
    assert "hello Ada" in record["logs"] and record["logs"][-1].startswith("REPORT RequestId:")
    assert int(headers[b"content-length"]) == len(body)

    # The same call with a cookie goes through Django (Bearer still authenticates it): the
    # same status and the same headers.
    django_status, django_headers, django_body = await post(
        path, {"event": {"name": "Ada"}}, token, app=calls.app, extra=[(b"cookie", b"theme=dark")]
    )
    assert calls.paths == [path]
    assert django_status == 200 and json.loads(django_body)["result"] == record["result"]
    django_headers = {name.lower(): value for name, value in django_headers.items()}
    assert set(headers) == set(django_headers)
    for name in headers:
        if name != b"content-length":
            assert headers[name] == django_headers[name], name
    assert await Invocation.objects.filter(function=function, status="ok").acount() == 2


async def test_a_qualifier_in_the_query_is_the_views_qualifier(worker):
    token, function = await learner("ada")
    calls = DjangoCalls()
    path = f"/api/functions/{function.slug}/invocations"
    status, headers, body = await post(path, {}, token, app=calls.app, query=b"qualifier=%24LATEST")
    assert status == 200 and headers[b"x-amz-executed-version"] == b"$LATEST", body
    status, _, body = await post(path, {}, token, app=calls.app, query=b"qualifier=7")
    assert status == 404 and error(body)["code"] == "ResourceNotFoundException", body
    assert calls.paths == []  # a known parameter stays on the fast path, its errors too
    status, _, _ = await post(path, {}, token, app=calls.app, query=b"other=1")
    assert calls.paths == [path]


async def test_bearer_errors_are_the_views_errors_from_django(worker):
    token, function = await learner("ada")
    _, bobs = await learner("bob")
    cyd_token, disabled = await learner("cyd", reserved_concurrency=0)
    invocations = f"/api/functions/{function.slug}/invocations"
    calls = DjangoCalls()
    cases = [
        (await post(invocations, {}, "not-a-token", app=calls.app), 401, "Unauthorized"),
        (await post(f"/api/functions/{bobs.slug}/invocations", {}, token, app=calls.app), 403, "Forbidden"),
        (await post("/api/functions/no-such-fn/invocations", {}, token, app=calls.app), 404, "NotFound"),
        (await post(invocations, b"{not json", token, app=calls.app), 400, "InvalidRequest"),
        (await post(invocations, b"[1, 2]", token, app=calls.app), 400, "InvalidRequest"),
        (await post(invocations, {"invocation_type": "Once"}, token, app=calls.app), 400, "InvalidRequest"),
        (await post(invocations, {"surprise": 1}, token, app=calls.app), 400, "InvalidRequest"),
    ]
    for (status, _, body), want_status, want_code in cases:
        assert (status, error(body)["code"]) == (want_status, want_code), body
    assert len(calls.paths) == len(cases)  # each answered by Django
    # A throttle is the fast path's own answer: the view's 429 with its reason.
    status, _, body = await post(f"/api/functions/{disabled.slug}/invocations", {}, cyd_token)
    assert status == 429 and error(body)["code"] == "TooManyRequestsException"
    assert error(body)["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert await Invocation.objects.filter(function=function).acount() == 0


async def test_an_event_invocation_goes_to_django_and_is_queued(worker):
    token, function = await learner("ada")
    calls = DjangoCalls()
    path = f"/api/functions/{function.slug}/invocations"
    status, _, body = await post(path, {"invocation_type": "Event"}, token, app=calls.app)
    assert status == 202 and "request_id" in json.loads(body)
    assert calls.paths == [path]


async def test_a_body_over_the_limit_is_413_before_anything_runs(worker):
    token, function = await learner("ada")
    too_big = django_settings.SANDBOX["PAYLOAD_BYTES"] + 128 * 1024
    status, _, body = await post(f"/api/functions/{function.slug}/invocations", b"x" * too_big, token)
    assert status == 413 and error(body)["code"] == "RequestEntityTooLargeException"
    assert await Invocation.objects.filter(function=function).acount() == 0


async def test_a_session_without_csrf_and_an_unknown_host_still_meet_django(worker):
    token, function = await learner("ada")
    browser = Client()
    await sync_to_async(browser.force_login)(function.owner)
    session = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}".encode())
    status, _, body = await post(f"/api/functions/{function.slug}/invocations", {}, extra=[cookie])
    assert status == 403 and "CSRF" in error(body)["message"]

    status, _, _ = await post(f"/api/functions/{function.slug}/invocations", {}, token, host=b"evil.example")
    assert status == 400
    assert await Invocation.objects.filter(function=function).acount() == 0
