"""The browser-run endpoint (issue 7): records a run made in the learner's browser with the
invocation history (trigger "browser"). CSRF-protected, owner only, sizes validated, billing
computed on the server by the same rules; nothing is executed on the server."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from sandbox.models import EnvironmentRecord, Function, Invocation

pytestmark = pytest.mark.django_db


def run(**fields):
    data = {
        "request_id": str(uuid.uuid4()),
        "status": "ok",
        "cold": True,
        "init_duration_ms": 3099.03,
        "duration_ms": 8.31,
        "memory_size_mb": 128,
        "max_memory_used_mb": 1,
        "result": {"calls": 1},
        "error": None,
        "logs": ["init ran once", "START RequestId: x Version: $LATEST", "END RequestId: x", "REPORT ..."],
        "event": '{"name": "Ada"}',
    }
    data.update(fields)
    return data


@pytest.fixture
def owner():
    user = get_user_model().objects.create_user(username="ada")
    function = Function.objects.create(owner=user, name="in-browser")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(function.get_absolute_url())  # sets the CSRF cookie, as the page does
    return client, function


def post(client, function, data, csrf=True):
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if csrf else {}
    return client.post(
        reverse("browser_run", args=[function.slug]),
        json.dumps(data),
        content_type="application/json",
        headers=headers,
    )


def test_a_browser_run_is_recorded_with_the_servers_billing_and_nothing_runs(owner):
    client, function = owner
    response = post(client, function, run())
    assert response.status_code == 201
    body = response.json()
    invocation = Invocation.objects.get()
    assert invocation.trigger == "browser"
    assert invocation.worker_id == "browser" and invocation.environment_name == ""
    assert invocation.status == "ok" and invocation.cold and invocation.result == {"calls": 1}
    # The init phase is billed (the rule since 1 Aug 2025): ceil(3099.03 + 8.31) = 3108 ms.
    assert invocation.billed_duration_ms == 3108 == body["billed_duration_ms"]
    assert invocation.gb_seconds == pytest.approx(0.125 * 3.108)
    assert invocation.logs.startswith("init ran once\nSTART")
    assert 'id="history"' in body["html"] and 'id="totals"' in body["html"]
    assert EnvironmentRecord.objects.count() == 0


def test_the_old_billing_rule_and_a_warm_run(owner, settings):
    settings.BILLING = {**settings.BILLING, "BILL_INIT_PHASE": False}
    client, function = owner
    assert post(client, function, run(duration_ms=2.5)).status_code == 201
    assert Invocation.objects.get().billed_duration_ms == 3
    assert post(client, function, run(cold=False, init_duration_ms=55.0)).status_code == 201
    assert Invocation.objects.filter(cold=False).get().init_duration_ms is None


def test_errors_and_timeouts_keep_the_error_shape(owner):
    client, function = owner
    error = {"errorType": "ValueError", "errorMessage": "boom", "stackTrace": ["  File ...\n"], "x": 1}
    assert post(client, function, run(status="error", error=error, result=None)).status_code == 201
    saved = Invocation.objects.get().error
    assert set(saved) == {"errorType", "errorMessage", "requestId", "stackTrace"}
    assert post(client, function, run(status="timeout", result=None)).status_code == 400  # no error


def test_csrf_is_required(owner):
    client, function = owner
    assert post(client, function, run(), csrf=False).status_code == 403
    assert not Invocation.objects.exists()


def test_only_the_owner_can_record(owner):
    _, function = owner
    eve = get_user_model().objects.create_user(username="eve")
    other = Client(enforce_csrf_checks=True)
    other.force_login(eve)
    other.get(Function.objects.create(owner=eve, name="eves").get_absolute_url())
    response = post(other, function, run())
    assert response.status_code == 404
    assert not Invocation.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": "nope"},
        {"status": "throttled"},
        {"cold": "yes"},
        {"duration_ms": -1},
        {"duration_ms": "12"},
        {"duration_ms": 10_000_000},
        {"memory_size_mb": 64},
        {"max_memory_used_mb": 1.5},
        {"logs": "one string"},
        {"logs": ["x"] * 10_001},
        {"error": "boom"},
        {"error": {"errorType": "E", "stackTrace": [1]}},
    ],
)
def test_invalid_runs_are_refused(owner, fields):
    client, function = owner
    assert post(client, function, run(**fields)).status_code == 400
    assert not Invocation.objects.exists()


def test_a_request_id_is_recorded_once_and_json_is_required(owner):
    client, function = owner
    data = run()
    assert post(client, function, data).status_code == 201
    assert post(client, function, data).status_code == 409
    response = client.post(
        reverse("browser_run", args=[function.slug]),
        {"a": "b"},
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 415


def test_the_function_page_and_static_files_are_cross_origin_isolated(owner):
    client, function = owner
    response = client.get(function.get_absolute_url())
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert b'id="browser-runtime-config"' in response.content
    assert b'name="run_on" value="browser"' in response.content


async def test_static_responses_get_the_isolation_headers_and_others_do_not():
    from config.isolation_headers import CrossOriginIsolatedStatic

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"x")]})
        await send({"type": "http.response.body", "body": b""})

    async def headers_for(path):
        sent = []

        async def send(message):
            sent.append(message)

        await CrossOriginIsolatedStatic(app)({"type": "http", "path": path}, None, send)
        return dict(sent[0]["headers"])

    static = await headers_for("/static/vendor/pyodide/pyodide.asm.wasm")
    assert static[b"cross-origin-embedder-policy"] == b"require-corp"
    assert static[b"cross-origin-opener-policy"] == b"same-origin"
    assert static[b"cross-origin-resource-policy"] == b"same-origin"
    assert b"cross-origin-embedder-policy" not in await headers_for("/api/functions")
