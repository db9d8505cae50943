"""A class shares one server: Check never fails a correct answer because of other learners' load.
Real sandbox, real embedded worker; the server is filled by other learners' real invocations and
load tests."""

import asyncio
import textwrap

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from lessons import runner
from lessons.checks import BUSY, evaluate, platform_interference
from lessons.loader import sync
from lessons.models import Step, StepProgress
from lessons.progress import progress_for
from sandbox.engine.pool import ACCOUNT_LIMIT, HOST_CAP, LEARNER_CONCURRENCY, RESERVED_LIMIT, SCALING_LIMIT
from sandbox.models import Function, Invocation, LoadTest
from sandbox.worker import start_invocation, start_load_test
from tests.playground_support import embedded_worker

TRANSACTIONAL = pytest.mark.django_db(transaction=True)

HOG = """
import time
def handler(event, context):
    time.sleep(event["seconds"])
    return "done"
"""


@pytest.fixture
async def full_server(transactional_db, settings):
    """The embedded worker with room for one concurrent execution in the whole account."""
    settings.SCALING = {**settings.SCALING, "ACCOUNT_CONCURRENCY": 1}
    async with embedded_worker(settings):
        yield


@pytest.fixture
async def small_server(transactional_db, settings):
    """The embedded worker with an account of 4 concurrent executions."""
    settings.SCALING = {**settings.SCALING, "ACCOUNT_CONCURRENCY": 4}
    async with embedded_worker(settings):
        yield


@sync_to_async
def student_on(lesson, number, which="solution"):
    """A learner on a lesson step whose function holds the step's reference solution (or its
    starter, which the check must fail)."""
    sync()
    step = Step.objects.select_related("lesson").get(lesson__slug=lesson, number=number)
    user = get_user_model().objects.create_user(username=f"learner-{lesson}-{number}-{which}")
    row = progress_for(user, step)
    row.function.code = step.solution_code if which == "solution" else step.starter_code
    row.function.save()
    if step.predict:  # the prediction comes before the first Check
        row.prediction = step.predict["choices"][0]
        row.save(update_fields=["prediction"])
    return user, step, row.function


@sync_to_async
def other_learners_function(name="hog"):
    owner = get_user_model().objects.create_user(username=f"someone-else-{name}")
    return Function.objects.create(owner=owner, name=name, code=textwrap.dedent(HOG), timeout_s=10)


async def until_running(invocation):
    for _ in range(200):
        status = await Invocation.objects.filter(pk=invocation.pk).values_list("status", flat=True).afirst()
        if status == Invocation.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the other learner's invocation never started")


async def fill_the_server(seconds):
    """Another learner's invocation holds the account's only concurrent execution."""
    hog = await other_learners_function()
    invocation = await start_invocation(hog, f'{{"seconds": {seconds}}}', "console")
    await until_running(invocation)
    return invocation


async def other_learners_load_test(requests, concurrency, seconds=0.5):
    """Another learner's load test, at more concurrency than the account has."""
    hog = await other_learners_function("loaded")
    load_test = await LoadTest.objects.acreate(
        function=hog, requests=requests, concurrency=concurrency, event=f'{{"seconds": {seconds}}}'
    )
    await start_load_test(load_test)
    for _ in range(200):
        if await Invocation.objects.filter(load_test=load_test, status=Invocation.RUNNING).aexists():
            return load_test
        await asyncio.sleep(0.05)
    raise AssertionError("the load test never started")


async def press_check(user, step, code):
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.post(
        f"/lessons/{step.lesson.slug}/{step.number}/check", {"code": code}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    return response.content.decode()


@TRANSACTIONAL
async def test_a_correct_check_waits_for_a_full_server_and_passes(full_server):
    _, step, function = await student_on("cold-starts", 1)
    # Longer than Check's own retries (1 s, then 2 s) last: only waiting ahead of the queue helps.
    await fill_the_server(seconds=4)

    outcome, invocations = await runner.run_step(
        function, step.events, step.run, step.checks, step.hidden_events
    )

    assert outcome.judged and outcome.passed, outcome.summary
    assert {i.status for i in invocations} == {"ok"}


@TRANSACTIONAL
async def test_a_correct_check_passes_while_another_learners_load_test_fills_the_account(small_server):
    user, step, _ = await student_on("cold-starts", 1)
    load_test = await other_learners_load_test(requests=60, concurrency=12)

    html = await press_check(user, step, step.solution_code)

    # Admitted ahead of the load test (which leaves room for learners' own invocations): a pass.
    assert "check-pass" in html and "check-fail" not in html and BUSY not in html
    row = await StepProgress.objects.aget(user=user, step=step)
    assert row.attempts == 1 and row.passed_at is not None
    # The load test was really throttled by the full account meanwhile: the server was full.
    throttled = Invocation.objects.filter(load_test=load_test, status=Invocation.THROTTLED)
    assert await throttled.aexists()
    await LoadTest.objects.filter(pk=load_test.pk).aupdate(stop_requested=True)


@TRANSACTIONAL
async def test_a_wrong_answer_still_fails_while_another_learners_load_test_runs(small_server):
    user, step, _ = await student_on("cold-starts", 1, which="starter")
    load_test = await other_learners_load_test(requests=60, concurrency=12)

    html = await press_check(user, step, step.starter_code)

    assert "check-fail" in html and "Not yet" in html and BUSY not in html
    assert "call load_prices() at module level" in html
    row = await StepProgress.objects.aget(user=user, step=step)
    assert row.attempts == 1 and row.passed_at is None
    # A failed time check is run once more (a busy host can slow a right answer), not more.
    runs = Invocation.objects.filter(function=row.function_id, trigger=runner.TRIGGER)
    assert await runs.acount() == 2 * 2  # two runs of two invocations
    await LoadTest.objects.filter(pk=load_test.pk).aupdate(stop_requested=True)


@TRANSACTIONAL
async def test_a_check_the_server_cannot_run_says_busy_never_a_failing_verdict(
    transactional_db, settings, monkeypatch
):
    # One concurrent execution, held longer than this Check waits for it (0.3 s, three times).
    settings.SCALING = {**settings.SCALING, "ACCOUNT_CONCURRENCY": 1, "CHECK_WAIT_S": 0.3}
    monkeypatch.setattr(runner, "RETRY_PAUSE_S", (0.1, 0.1))
    async with embedded_worker(settings):
        user, step, _ = await student_on("cold-starts", 1)
        await fill_the_server(seconds=6)

        html = await press_check(user, step, step.solution_code)

    assert "check-busy" in html and BUSY in html
    assert "every concurrent execution of the server was in use" in html
    assert "check-fail" not in html and "hint" not in html.lower() and "Not yet" not in html
    row = await StepProgress.objects.aget(user=user, step=step)
    assert row.attempts == 0 and row.passed_at is None and row.last_message == ""


@TRANSACTIONAL
async def test_a_visitors_first_check_on_a_busy_server_says_so_after_the_page_reloads(
    transactional_db, settings, monkeypatch
):
    settings.SCALING = {**settings.SCALING, "ACCOUNT_CONCURRENCY": 1, "CHECK_WAIT_S": 0.3}
    monkeypatch.setattr(runner, "RETRY_PAUSE_S", (0.1, 0.1))
    await sync_to_async(sync)()
    client = AsyncClient()  # a visitor: the first Check makes the guest learner
    async with embedded_worker(settings):
        await fill_the_server(seconds=6)
        response = await client.post("/lessons/first-function/1/check", {}, headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == "/lessons/first-function/1/"
    page = (await client.get("/lessons/first-function/1/")).content.decode()
    assert BUSY in page and "check-fail" not in page


# ---------------------------------------------------------------- what counts as the platform's
def ran(cold, status="ok", **fields):
    return Invocation(status=status, cold=cold, init_duration_ms=100.0 if cold else None, **fields)


def throttled(reason):
    return Invocation(status="throttled", error={"Reason": reason, "errorType": "TooManyRequestsException"})


WARM_SECOND = [{"cold": False, "invocation": 2}]


def test_a_second_invocation_cold_after_a_clean_first_is_the_platforms_doing():
    problems = platform_interference(WARM_SECOND, [ran(cold=True), ran(cold=True)])
    assert problems == [
        "The second invocation found no warm environment: the server reclaimed the one left ready "
        "(other learners' load)."
    ]


def test_a_second_invocation_cold_after_the_first_crashed_is_the_functions_doing():
    assert platform_interference(WARM_SECOND, [ran(cold=True, status="crashed"), ran(cold=True)]) == []
    assert platform_interference(WARM_SECOND, [ran(cold=True), ran(cold=False)]) == []


@pytest.mark.parametrize("reason", [ACCOUNT_LIMIT, HOST_CAP, LEARNER_CONCURRENCY])
def test_a_throttle_for_capacity_is_the_platforms_the_functions_own_limits_are_not(reason):
    assert platform_interference([], [throttled(reason)])
    assert platform_interference([], [throttled(RESERVED_LIMIT)]) == []
    assert platform_interference([], [throttled(SCALING_LIMIT)]) == []
    assert platform_interference([], [Invocation(status="failed", failure_reason="worker lost")])


def test_throttles_at_least_counts_only_the_functions_own_throttles():
    checks = [{"throttles_at_least": 1}]
    assert not evaluate(checks, [ran(cold=True), throttled(ACCOUNT_LIMIT), throttled(HOST_CAP)]).passed
    assert evaluate(checks, [ran(cold=True), throttled(RESERVED_LIMIT)]).passed


def test_a_failing_time_check_is_marked_worth_running_again():
    slow = ran(cold=False, duration_ms=250.0)
    assert evaluate([{"duration_under": 100}], [slow]).timed_failure
    assert not evaluate([{"status": "error"}], [slow]).timed_failure


def test_invocations_that_met_the_same_thing_share_one_sentence():
    problems = platform_interference([], [throttled(ACCOUNT_LIMIT), throttled(ACCOUNT_LIMIT), ran(cold=True)])
    assert problems == [
        "The first and second invocations were throttled before they ran: every concurrent execution "
        "of the server was in use."
    ]
    assert platform_interference([], [throttled(HOST_CAP)]) == [
        "Your invocation was throttled before it ran: the server's cap of live execution environments "
        "was reached."
    ]
