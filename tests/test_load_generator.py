"""The Scaling tab's load generator on the embedded worker comes last in admission: it leaves room
for learners' own invocations, and its throttles are stored with their reason."""

import textwrap

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from sandbox.engine.pool import ACCOUNT_LIMIT, RESERVED_LIMIT
from sandbox.models import Function, Invocation, LoadTest
from sandbox.worker import start_invocation, start_load_test, wait_until_finished
from tests.playground_support import embedded_worker
from tests.trigger_support import eventually

pytestmark = pytest.mark.django_db(transaction=True)

SLEEPY = """
import time
def handler(event, context):
    time.sleep(0.3)
    return {"ok": True}
"""


@pytest.fixture
async def worker(transactional_db, settings):
    """An account of 4 concurrent executions."""
    settings.SCALING = {**settings.SCALING, "ACCOUNT_CONCURRENCY": 4}
    async with embedded_worker(settings):
        yield


@sync_to_async
def function_of(username, name, code=SLEEPY, **fields):
    owner, _ = get_user_model().objects.get_or_create(username=username)
    return Function.objects.create(owner=owner, name=name, code=textwrap.dedent(code), **fields)


async def finished(load_test):
    def done():
        row = LoadTest.objects.get(pk=load_test.pk)
        return row if row.status == LoadTest.FINISHED else None

    return await eventually(done, timeout=60)


async def test_a_load_test_leaves_an_eighth_of_the_account_to_learners_own_invocations(worker):
    loaded = await function_of("ada", "loaded")
    load_test = await LoadTest.objects.acreate(function=loaded, requests=24, concurrency=8)
    await start_load_test(load_test)
    throttled = Invocation.objects.filter(load_test=load_test, status=Invocation.THROTTLED)
    await eventually(throttled.exists, timeout=30)

    mine = await function_of("grace", "mine")
    own = await wait_until_finished(await start_invocation(mine, "{}", "console"))
    await finished(load_test)

    assert own.status == Invocation.OK  # the load test left room for it
    stored = [i async for i in Invocation.objects.filter(load_test=load_test).values_list("status", "error")]
    throttled = [error for status, error in stored if status == Invocation.THROTTLED]
    assert len(stored) == 24 and throttled
    assert {error["Reason"] for error in throttled} == {ACCOUNT_LIMIT}
    assert any("kept for learners' own invocations" in error["errorMessage"] for error in throttled)


async def test_a_load_tests_throttles_of_the_functions_own_limit_say_so(worker):
    loaded = await function_of("ada", "reserved", reserved_concurrency=1)
    load_test = await LoadTest.objects.acreate(function=loaded, requests=6, concurrency=3)
    await start_load_test(load_test)
    await finished(load_test)

    stored = [i async for i in Invocation.objects.filter(load_test=load_test).values_list("status", "error")]
    throttled = [error for status, error in stored if status == Invocation.THROTTLED]
    assert len(stored) == 6 and throttled
    assert {error["Reason"] for error in throttled} == {RESERVED_LIMIT}


async def test_a_check_on_a_full_account_waits_for_it_where_an_invoke_is_throttled(worker):
    hog = await function_of("grace", "hog", SLEEPY.replace("0.3", "2"))
    running = [await start_invocation(hog, "{}", "console") for _ in range(4)]
    await eventually(
        lambda: Invocation.objects.filter(function=hog, status=Invocation.RUNNING).count() == 4, timeout=10
    )  # the account's 4 concurrent executions, each for 2 s
    mine = await function_of("ada", "checked")
    check = await start_invocation(mine, "{}", "lesson-check", priority="check")
    invoke = await start_invocation(mine, "{}", "console")

    checked, invoked = await wait_until_finished(check), await wait_until_finished(invoke)
    for invocation in running:
        await wait_until_finished(invocation)

    assert checked.status == Invocation.OK
    assert invoked.status == Invocation.THROTTLED and invoked.error["Reason"] == ACCOUNT_LIMIT
