"""The JSON API under /api/functions: CRUD, invocations through the embedded sandbox worker (real
sandboxed handlers), and every error status with its JSON error body."""

import asyncio
import hashlib
import io
import textwrap

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import AsyncClient, Client

from config.asgi import application
from sandbox.models import ApiToken, Function, Invocation
from sandbox.worker.config import get_engine
from tests.playground_support import embedded_worker
from tests.sandbox_helpers import RECORD_KEYS

GREETER = textwrap.dedent(
    """
    def handler(event, context):
        print("hello", event.get("name"))
        return {"greeting": "hello " + str(event.get("name"))}
    """
)

ECHO = textwrap.dedent(
    """
    def handler(event, context):
        return {"type": type(event).__name__, "event": event}
    """
)

PAYLOAD_LIMIT = 6 * 1024 * 1024
TRANSACTIONAL = pytest.mark.django_db(transaction=True)


def create_api_token(username):
    """The token `manage.py create_api_token USERNAME` prints."""
    out = io.StringIO()
    call_command("create_api_token", username, stdout=out)
    return out.getvalue().strip()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def make_function(username, code=GREETER, **fields):
    owner = get_user_model().objects.get(username=username)
    return Function.objects.create(owner=owner, name=f"{username}-fn", code=code, **fields)


def error_of(response):
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.fixture
async def worker_session(transactional_db, settings):
    async with embedded_worker(settings):
        yield


@pytest.fixture
def ada_token(db):
    return create_api_token("ada")


@pytest.fixture
def ada(ada_token):
    return Client(headers=bearer(ada_token))


class AsyncApi:
    """An AsyncClient that sends `headers` with every request (AsyncClient(headers=...) sends
    defaults under their WSGI names, e.g. `http-authorization`, so they are passed per call)."""

    def __init__(self, headers=None, **options):
        self.client = AsyncClient(**options)
        self.headers = headers or {}

    async def get(self, path):
        return await self.client.get(path, headers=self.headers)

    async def post(self, path, data):
        return await self.client.post(path, data, content_type="application/json", headers=self.headers)


async def signed_in_api(username, code=GREETER):
    """An API client with `username`'s Bearer token, and one function of theirs."""
    token = await sync_to_async(create_api_token)(username)
    function = await sync_to_async(make_function)(username, code)
    return AsyncApi(bearer(token)), function


async def invoke(api, function, event=None, **extra):
    body = {"event": {} if event is None else event, **extra}
    return await api.post(f"/api/functions/{function.slug}/invocations", body)


# ---------------------------------------------------------------------------------- tokens


@pytest.mark.django_db
def test_create_api_token_prints_a_new_token_each_time_and_the_old_one_stops_working():
    first = create_api_token("ada")
    assert len(first) >= 32
    assert Client(headers=bearer(first)).get("/api/functions").status_code == 200
    second = create_api_token("ada")
    assert second != first
    assert Client(headers=bearer(first)).get("/api/functions").status_code == 401
    assert Client(headers=bearer(second)).get("/api/functions").status_code == 200
    assert create_api_token("bob") not in (first, second)


@pytest.mark.django_db
def test_tokens_are_stored_hashed_never_in_clear():
    key = create_api_token("ada")
    token = ApiToken.objects.get(user__username="ada")
    stored = [str(getattr(token, field.attname)) for field in ApiToken._meta.concrete_fields]
    assert not any(key in value for value in stored), stored
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------------------------- CRUD


def test_creating_a_function_returns_201_with_its_slug_url_and_invoke_url(ada):
    response = ada.post(
        "/api/functions",
        {"name": "hello api", "code": GREETER, "memory_mb": 256, "handler": "handler"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"slug", "url", "invoke_url"}
    function = Function.objects.get(slug=body["slug"])
    assert function.owner.username == "ada"
    assert (function.code, function.memory_mb) == (GREETER, 256)
    assert body["url"] == f"http://testserver/functions/{function.slug}/"
    assert body["invoke_url"] == f"http://testserver/api/functions/{function.slug}/invocations"


def test_a_function_can_be_read_updated_and_deleted(ada):
    slug = ada.post(
        "/api/functions", {"name": "crud", "code": GREETER}, content_type="application/json"
    ).json()["slug"]

    response = ada.get(f"/api/functions/{slug}")
    assert response.status_code == 200
    assert response.json()["name"] == "crud"
    assert response.json()["memory_mb"] == 128

    response = ada.put(
        f"/api/functions/{slug}",
        {"code": GREETER, "timeout_s": 10, "environment": {"STAGE": "dev"}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["timeout_s"] == 10
    stored = ada.get(f"/api/functions/{slug}").json()
    assert (stored["code"], stored["timeout_s"], stored["environment"]) == (GREETER, 10, {"STAGE": "dev"})
    assert stored["name"] == "crud", "a partial update changed a field it did not name"

    assert ada.get("/api/functions").json()["functions"][0]["slug"] == slug

    response = ada.delete(f"/api/functions/{slug}")
    assert response.status_code == 204
    assert not Function.objects.filter(slug=slug).exists()
    assert ada.get(f"/api/functions/{slug}").status_code == 404


@TRANSACTIONAL
async def test_deleting_a_function_answers_204_with_no_content():
    token = await sync_to_async(create_api_token)("ada")
    function = await sync_to_async(make_function)("ada")
    request = HttpCommunicator(
        application,
        "DELETE",
        f"/api/functions/{function.slug}",
        headers=[(b"host", b"localhost"), (b"authorization", f"Bearer {token}".encode())],
    )
    response = await request.get_response(timeout=5)
    assert response["status"] == 204
    assert not await Function.objects.filter(pk=function.pk).aexists()
    assert response["body"] == b""
    assert b"content-length" not in {name.lower() for name, _ in response["headers"]}


# ---------------------------------------------------------------------------------- errors


def test_a_body_that_is_not_json_is_400(ada):
    response = ada.post("/api/functions", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidRequest"
    assert "not valid JSON" in error_of(response)["message"]


def test_a_bad_field_is_400_and_the_message_names_the_field(ada):
    response = ada.post(
        "/api/functions", {"name": "x", "code": GREETER, "memory_mb": 99}, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidRequest"
    assert error_of(response)["message"].startswith("memory_mb:")
    assert "99" in error_of(response)["message"]

    response = ada.post(
        "/api/functions", {"name": "x", "code": GREETER, "colour": "red"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "colour" in error_of(response)["message"]
    assert not Function.objects.exists()


def test_no_credentials_is_401(db):
    response = Client().get("/api/functions")
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_a_bad_token_is_401(ada_token):
    for header in (f"Bearer {ada_token}x", "Bearer ", f"Basic {ada_token}"):
        response = Client(headers={"Authorization": header}).get("/api/functions")
        assert response.status_code == 401, header
        assert error_of(response)["code"] == "Unauthorized"


def test_someone_elses_function_is_403(ada):
    create_api_token("bob")
    function_of_bob = make_function("bob")
    for method in ("get", "put", "delete"):
        response = getattr(ada, method)(
            f"/api/functions/{function_of_bob.slug}", content_type="application/json"
        )
        assert response.status_code == 403, method
        assert error_of(response)["code"] == "Forbidden"
    response = ada.get(f"/api/functions/{function_of_bob.slug}/invocations")
    assert response.status_code == 403
    assert Function.objects.filter(pk=function_of_bob.pk).exists()


def test_an_unknown_slug_is_404(ada):
    response = ada.get("/api/functions/no-such-fn-000000")
    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFound"
    response = ada.post(
        "/api/functions/no-such-fn-000000/invocations", {"event": {}}, content_type="application/json"
    )
    assert response.status_code == 404


# ---------------------------------------------------------------------------------- session auth


def test_session_auth_works_for_reads_and_needs_the_csrf_token_for_writes(db):
    user = get_user_model().objects.create_user(username="ada")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    make_function("ada")

    assert browser.get("/api/functions").status_code == 200

    response = browser.post(
        "/api/functions", {"name": "no-csrf", "code": GREETER}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert not Function.objects.filter(name="no-csrf").exists()

    browser.get("/")  # the page sets the CSRF cookie, as a browser would get it
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/api/functions",
        {"name": "with-csrf", "code": GREETER},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.content


@TRANSACTIONAL
async def test_session_auth_without_the_csrf_token_cannot_invoke(worker_session):
    user = await sync_to_async(get_user_model().objects.create_user)(username="ada")
    function = await sync_to_async(make_function)("ada")
    browser = AsyncApi(enforce_csrf_checks=True)
    await browser.client.aforce_login(user)
    response = await invoke(browser, function)
    assert response.status_code == 403
    assert await Invocation.objects.filter(function=function).acount() == 0


# ---------------------------------------------------------------------------------- invocations


@TRANSACTIONAL
async def test_invoking_returns_200_with_exactly_the_record_keys(worker_session):
    api, function = await signed_in_api("ada")
    response = await invoke(api, function, {"name": "Ada"})
    assert response.status_code == 200, response.content
    record = response.json()
    assert set(record) == RECORD_KEYS
    assert record["status"] == "ok"
    assert record["cold"] is True and record["init_duration_ms"] > 0
    assert record["result"] == {"greeting": "hello Ada"}
    assert record["error"] is None
    assert record["memory_size_mb"] == 128
    assert record["billed_duration_ms"] >= record["duration_ms"]
    assert "hello Ada" in record["logs"]
    assert record["logs"][-1].startswith(f"REPORT RequestId: {record['request_id']}")

    again = (await invoke(api, function, {"name": "Bo"})).json()
    assert (again["status"], again["cold"], again["init_duration_ms"]) == ("ok", False, None)


@TRANSACTIONAL
async def test_listing_invocations_honours_limit_and_puts_the_most_recent_first(worker_session):
    api, function = await signed_in_api("ada")
    ids = []
    for name in ("first", "second", "third"):
        response = await invoke(api, function, {"name": name})
        assert response.status_code == 200
        ids.append(response.json()["request_id"])

    response = await api.get(f"/api/functions/{function.slug}/invocations?limit=2")
    assert response.status_code == 200
    listed = response.json()["invocations"]
    assert [item["request_id"] for item in listed] == [ids[2], ids[1]]
    assert set(listed[0]) == RECORD_KEYS
    assert listed[0]["result"] == {"greeting": "hello third"}

    response = await api.get(f"/api/functions/{function.slug}/invocations?limit=lots")
    assert response.status_code == 400


@TRANSACTIONAL
async def test_an_event_invocation_answers_202_with_only_its_request_id_and_runs_later(worker_session):
    api, function = await signed_in_api("ada")
    response = await invoke(api, function, {"name": "later"}, invocation_type="Event")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"request_id"}

    invocation = await Invocation.objects.aget(request_id=body["request_id"])
    for _ in range(100):
        if invocation.is_finished:
            break
        await asyncio.sleep(0.1)
        invocation = await Invocation.objects.aget(request_id=body["request_id"])
    assert invocation.status == "ok"
    assert invocation.result == {"greeting": "hello later"}


@TRANSACTIONAL
async def test_an_unknown_invocation_type_is_400(worker_session):
    api, function = await signed_in_api("ada")
    response = await invoke(api, function, invocation_type="Sometimes")
    assert response.status_code == 400
    assert "invocation_type" in error_of(response)["message"]
    assert await Invocation.objects.acount() == 0


@TRANSACTIONAL
async def test_an_event_over_6_mb_is_413_and_nothing_runs(worker_session):
    api, function = await signed_in_api("ada")
    response = await invoke(api, function, {"data": "x" * PAYLOAD_LIMIT})
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestEntityTooLargeException"

    response = await invoke(api, function, {"data": "x" * (PAYLOAD_LIMIT + 200 * 1024)})
    assert response.status_code == 413, "a body over the limit was read"
    assert error_of(response)["code"] == "RequestEntityTooLargeException"
    assert await Invocation.objects.acount() == 0


@TRANSACTIONAL
async def test_a_json_string_event_reaches_the_handler_as_that_string(worker_session):
    api, function = await signed_in_api("ada", ECHO)
    response = await invoke(api, function, "hello")
    assert response.status_code == 200, response.content
    assert response.json()["result"] == {"type": "str", "event": "hello"}

    response = await invoke(api, function, '{"a": 1}')
    assert response.json()["result"] == {"type": "str", "event": '{"a": 1}'}

    response = await invoke(api, function, "x" * (PAYLOAD_LIMIT + 1))
    assert response.status_code == 413


@TRANSACTIONAL
async def test_when_every_environment_is_in_use_invoking_is_429_too_many_requests(worker_session):
    api, function = await signed_in_api("ada")
    slots = get_engine().slots
    taken = []
    try:
        while slots.in_use < slots.size:
            taken.append(slots.acquire())
        response = await invoke(api, function)
    finally:
        for slot in taken:
            slots.release(slot)
    assert response.status_code == 429, response.content
    error = error_of(response)
    assert error["code"] == "TooManyRequestsException"
    assert error["reason"] == "HostEnvironmentCapReached"
    assert f"cap of {slots.size} live execution environments" in error["message"]
    throttled = await Invocation.objects.aget(function=function)
    assert throttled.status == "throttled"

    response = await invoke(api, function, {"name": "again"})
    assert response.status_code == 200, "a slot given back was not usable again"


FORGER = textwrap.dedent(
    """
    import json
    from coldstart import channel

    def handler(event, context):
        forged = {"type": "result", "id": context.aws_request_id, "payload": "{not json"}
        channel._messages.write("\\n" + json.dumps(forged) + "\\n")
        return "never seen"
    """
)


@TRANSACTIONAL
async def test_a_forged_result_is_a_clear_error_record_and_frees_the_slot(worker_session):
    api, forger = await signed_in_api("mallory", FORGER)
    other_api, other = await signed_in_api("ada")

    for _ in range(3):
        response = await invoke(api, forger)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "error"
        assert body["error"]["errorType"] == "Runtime.InvalidMessage"
        assert body["cold"] is True
    assert get_engine().slots.in_use == 0
    response = await invoke(other_api, other, {"name": "ada"})
    assert response.status_code == 200 and response.json()["result"] == {"greeting": "hello ada"}
    stored = await Invocation.objects.filter(function=forger).acount()
    assert stored == 3
