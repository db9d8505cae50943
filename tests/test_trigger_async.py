"""Asynchronous invokes: accepted at once (202), stored, run by the worker's loop, retried twice
on function errors (1 min, then 2 min, scaled here by TIMER_SCALE=0.01), and dead-lettered with
the original event, the error and the attempt count."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from sandbox.models import ApiToken, Invocation
from tests.trigger_support import AsyncClient, eventually, make_function, trigger_worker
from triggers.models import AsyncEvent

TRANSACTIONAL = pytest.mark.django_db(transaction=True)
FAILING = 'def handler(event, context):\n    raise ValueError("boom " + str(event["n"]))\n'
FLAKY = """
import os

def handler(event, context):
    if not os.path.exists("/tmp/seen"):
        open("/tmp/seen", "w").close()
        raise RuntimeError("first time fails")
    return {"ok": event["n"]}
"""


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings, timer_scale=0.01):
        yield


async def invoke_event(function, event):
    owner = await get_user_model().objects.aget(pk=function.owner_id)
    key = await sync_to_async(ApiToken.issue)(owner)
    return await AsyncClient().post(
        f"/api/functions/{function.slug}/invocations",
        data=json.dumps({"event": event, "invocation_type": "Event"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


@TRANSACTIONAL
async def test_an_event_invoke_is_accepted_at_once_with_its_request_id_and_stored(worker):
    function = await make_function("def handler(event, context):\n    return event\n")
    response = await invoke_event(function, {"n": 1})
    assert response.status_code == 202
    request_id = response.json()["request_id"]
    stored = await AsyncEvent.objects.aget(request_id=request_id)
    assert json.loads(stored.event) == {"n": 1}

    def succeeded():
        return AsyncEvent.objects.filter(request_id=request_id, status="succeeded").exists()

    await eventually(succeeded)
    invocation = await Invocation.objects.aget(request_id=request_id)
    assert invocation.result == {"n": 1}
    assert invocation.trigger == "api"


@TRANSACTIONAL
async def test_a_failing_event_is_retried_twice_with_growing_delays_then_dead_lettered(worker):
    function = await make_function(FAILING)
    response = await invoke_event(function, {"n": 7})
    request_id = response.json()["request_id"]

    def dead():
        return AsyncEvent.objects.filter(request_id=request_id, status="dead").first()

    event = await eventually(dead, timeout=20)
    assert event.attempts == 3
    assert json.loads(event.event) == {"n": 7}
    assert event.last_error["errorType"] == "ValueError"
    assert event.last_error["errorMessage"] == "boom 7"
    assert "all 3 attempt(s)" in event.dead_reason

    attempts = [i async for i in Invocation.objects.filter(function=function).order_by("created")]
    assert [i.trigger for i in attempts] == ["api", "api (retry 1)", "api (retry 2)"]
    assert all(i.status == "error" for i in attempts)
    first_gap = (attempts[1].created - attempts[0].finished).total_seconds()
    second_gap = (attempts[2].created - attempts[1].finished).total_seconds()
    assert 0.55 <= first_gap < 3, first_gap  # 60 s x 0.01
    assert 1.15 <= second_gap < 4, second_gap  # 120 s x 0.01


@TRANSACTIONAL
async def test_an_event_that_fails_once_succeeds_on_its_first_retry(worker):
    function = await make_function(FLAKY)
    response = await invoke_event(function, {"n": 3})
    request_id = response.json()["request_id"]

    def finished():
        return AsyncEvent.objects.filter(request_id=request_id, status__in=["succeeded", "dead"]).first()

    event = await eventually(finished)
    assert event.status == "succeeded"
    assert event.attempts == 2
    statuses = [i.status async for i in Invocation.objects.filter(function=function).order_by("created")]
    assert statuses == ["error", "ok"]


@TRANSACTIONAL
async def test_an_event_past_its_maximum_age_is_not_retried(worker, settings):
    settings.ASYNC_MAX_EVENT_AGE_S = 50  # x 0.01 = 0.5 s: the first retry (0.6 s) would be too late
    function = await make_function(FAILING)
    response = await invoke_event(function, {"n": 1})
    request_id = response.json()["request_id"]

    def dead():
        return AsyncEvent.objects.filter(request_id=request_id, status="dead").first()

    event = await eventually(dead)
    assert event.attempts == 1
    assert "maximum event age" in event.dead_reason
    assert await Invocation.objects.filter(function=function).acount() == 1


@TRANSACTIONAL
async def test_the_dead_letter_list_shows_the_event_the_error_and_the_attempts(worker):
    from asgiref.sync import sync_to_async
    from django.test import Client

    function = await make_function(FAILING)
    await invoke_event(function, {"n": 42})

    def dead():
        return AsyncEvent.objects.filter(function=function, status="dead").first()

    await eventually(dead, timeout=20)

    def page():
        client = Client()
        client.force_login(function.owner)
        return client.get(f"/functions/{function.slug}/triggers/").content.decode()

    html = await sync_to_async(page)()
    assert "Dead-letter list (1)" in html
    assert "3 attempts" in html
    assert "ValueError: boom 42" in html
    assert "{&quot;n&quot;:42}" in html
