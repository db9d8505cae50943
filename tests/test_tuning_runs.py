"""Power-tuning runs end to end on the real sandbox (the embedded worker, real environments):
a run at two memory sizes finishes with results for both and leaves the function's own
configuration and warm environment alone; Stop stops a run; and every bad request is refused,
from the page and from the API, with nothing started."""

import asyncio
import json
import textwrap
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client
from django.utils import timezone

from sandbox.models import Function, Invocation, PowerTuning
from tests.playground_support import embedded_worker
from tests.test_api import AsyncApi, bearer, create_api_token

TRANSACTIONAL = pytest.mark.django_db(transaction=True)
WAIT_STEPS = 600  # of 0.1 s: an upper bound on any run here, never a measurement

CPU = textwrap.dedent(
    """
    def handler(event, context):
        return sum(i * i for i in range(20000))
    """
)
SLEEPY = textwrap.dedent(
    """
    import time

    def handler(event, context):
        time.sleep(0.3)
        return "ok"
    """
)


@pytest.fixture
async def worker_session(transactional_db, settings):
    async with embedded_worker(settings):
        yield


def make_function(username, code, **fields):
    owner, _ = get_user_model().objects.get_or_create(username=username)
    return Function.objects.create(owner=owner, name=f"{username}-tuned", code=code, **fields)


async def wait_until(check):
    for _ in range(WAIT_STEPS):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the run did not get there in time")


async def status_of(run_id):
    run = await PowerTuning.objects.aget(pk=run_id)
    return run


# ------------------------------------------------------------------------------ a run, finished


@TRANSACTIONAL
async def test_a_run_at_two_sizes_finishes_with_results_for_both_and_leaves_the_function_be(worker_session):
    token = await sync_to_async(create_api_token)("ada")
    function = await sync_to_async(make_function)("ada", CPU)
    api = AsyncApi(bearer(token))
    warm = await api.post(f"/api/functions/{function.slug}/invocations", {"event": {}})
    assert warm.json()["cold"] is True  # the function's own environment, at 128 MB

    response = await api.post(
        f"/api/functions/{function.slug}/power-tunings",
        {"memory_sizes": [512, 128], "invocations_per_size": 3},
    )
    assert response.status_code == 201, response.content
    started = response.json()
    assert (started["status"], started["memory_sizes"], started["planned"]) == ("running", [128, 512], 6)

    async def finished():
        report = (await api.get(f"/api/functions/{function.slug}/power-tunings/{started['id']}")).json()
        return report["status"] != "running"

    await wait_until(finished)
    report = (await api.get(f"/api/functions/{function.slug}/power-tunings/{started['id']}")).json()
    assert report["status"] == "finished" and report["done"] == 6 and report["percent"] == 100
    assert [r["memory_mb"] for r in report["results"]] == [128, 512]
    for size in report["results"]:
        assert size["invocations"] == 3 and size["error"] is None and size["throttles"] == 0
        assert size["duration_ms"] > 0 and size["billed_duration_ms"] >= 1
        assert size["cost_usd"] > 0 and size["init_duration_ms"] > 0  # each size starts cold
    assert report["cheapest"] in (128, 512) and report["fastest"] in (128, 512)

    runs = [i async for i in Invocation.objects.filter(power_tuning_id=started["id"]).order_by("created")]
    assert [(i.memory_size_mb, i.cold, i.trigger) for i in runs] == [
        (128, True, "power-tuning"), (128, False, "power-tuning"), (128, False, "power-tuning"),
        (512, True, "power-tuning"), (512, False, "power-tuning"), (512, False, "power-tuning"),
    ]  # fmt: skip
    assert all(f"Memory Size: {i.memory_size_mb} MB" in i.logs for i in runs)  # the REPORT line agrees

    # The learner's function kept its memory and its warm environment.
    await function.arefresh_from_db()
    assert function.memory_mb == 128
    again = (await api.post(f"/api/functions/{function.slug}/invocations", {"event": {}})).json()
    assert (again["cold"], again["memory_size_mb"]) == (False, 128)


# ------------------------------------------------------------------------------ Stop


@TRANSACTIONAL
async def test_stop_ends_a_run_from_the_page_and_another_can_start(worker_session):
    function = await sync_to_async(make_function)("bo", SLEEPY)
    page = AsyncClient()
    await page.aforce_login(function.owner)
    response = await page.post(
        f"/functions/{function.slug}/tuning/start",
        {"memory_sizes": ["128"], "more_sizes": "256", "invocations_per_size": "20", "event": '{"n": 1}'},
    )
    assert response.status_code == 302
    run = await PowerTuning.objects.aget(function=function)
    assert response["Location"].endswith(f"/tuning/?run={run.pk}")
    assert (run.memory_sizes, run.invocations_per_size, run.planned) == ([128, 256], 20, 40)

    async def some_done():
        report = (await page.get(f"/functions/{function.slug}/tuning/{run.pk}.json")).json()
        return report["done"] >= 1

    await wait_until(some_done)
    response = await page.post(f"/functions/{function.slug}/tuning/stop", {"run": str(run.pk)})
    assert response.status_code == 302

    async def ended():
        return (await status_of(run.pk)).status != PowerTuning.RUNNING

    await wait_until(ended)
    run = await status_of(run.pk)
    assert run.status == PowerTuning.STOPPED and run.stop_requested and run.finished is not None
    ran = await Invocation.objects.filter(power_tuning=run).acount()
    assert 1 <= ran < 40 and run.done == ran
    assert not await Invocation.objects.filter(power_tuning=run, status="running").aexists()

    again = await page.post(
        f"/functions/{function.slug}/tuning/start", {"memory_sizes": ["128"], "invocations_per_size": "1"}
    )
    assert again.status_code == 302
    newer = await PowerTuning.objects.filter(function=function).exclude(pk=run.pk).aget()

    async def newer_finished():
        return (await status_of(newer.pk)).status == PowerTuning.FINISHED

    await wait_until(newer_finished)


# ------------------------------------------------------------------------------ refused


@pytest.fixture
def owner_page(db):
    function = make_function("cy", CPU)
    client = Client()
    client.force_login(function.owner)
    return client, function


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"memory_sizes": ["64"]}, "Memory sizes are whole MB from 128"),
        ({"memory_sizes": ["128"], "more_sizes": "256, lots"}, "got 'lots'"),
        ({"more_sizes": " "}, "Choose at least one memory size"),
        ({"more_sizes": " ".join(str(128 + n) for n in range(11))}, "At most 10 memory sizes"),
        ({"memory_sizes": ["128"], "invocations_per_size": "0"}, "Invocations per size must be from 1 to 50"),
        (
            {"memory_sizes": ["128"], "invocations_per_size": "many"},
            "Invocations per size must be a whole number",
        ),
        ({"more_sizes": "128 256 512 1024 1536", "invocations_per_size": "50"}, "at most 200 invocations"),
        ({"memory_sizes": ["128"], "event": "{nope"}, "Event:"),
    ],
)
def test_the_page_refuses_a_bad_run_keeps_what_was_typed_and_starts_nothing(owner_page, fields, message):
    client, function = owner_page
    data = {"invocations_per_size": "5", "event": "{}", **fields}
    response = client.post(f"/functions/{function.slug}/tuning/start", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("&#x27;", "'")
    assert f'value="{data["invocations_per_size"]}"' in html  # what was typed is still there
    assert not PowerTuning.objects.exists()


def test_one_run_at_a_time_and_none_for_a_disabled_function(owner_page):
    client, function = owner_page
    PowerTuning.objects.create(function=function, memory_sizes=[128], invocations_per_size=1)
    response = client.post(f"/functions/{function.slug}/tuning/start", {"memory_sizes": ["128"]})
    assert response.status_code == 400 and "already running" in response.content.decode()
    PowerTuning.objects.update(status=PowerTuning.FINISHED)
    function.reserved_concurrency = 0
    function.save()
    response = client.post(f"/functions/{function.slug}/tuning/start", {"memory_sizes": ["128"]})
    assert response.status_code == 400 and "reserved concurrency is 0" in response.content.decode()
    assert PowerTuning.objects.count() == 1


def test_a_run_whose_worker_went_away_ends_and_does_not_block_the_next(owner_page):
    client, function = owner_page
    long_ago = timezone.now() - timedelta(minutes=5)
    lost = PowerTuning.objects.create(
        function=function, memory_sizes=[128, 256], invocations_per_size=5, started=long_ago
    )
    Invocation.objects.create(function=function, power_tuning=lost, status="ok", created=long_ago)
    alive = PowerTuning.objects.create(function=function, memory_sizes=[128], invocations_per_size=5)
    report = client.get(f"/functions/{function.slug}/tuning/{lost.pk}.json").json()
    assert report["status"] == "failed" and "worker" in report["failure_reason"]
    alive.refresh_from_db()
    assert alive.status == PowerTuning.RUNNING  # just started: not stale
    PowerTuning.objects.filter(pk=alive.pk).update(started=long_ago, stop_requested=True)
    response = client.post(f"/functions/{function.slug}/tuning/start", {"memory_sizes": ["128"]})
    assert response.status_code == 400  # for its missing N now, no longer "already running"
    assert "already running" not in response.content.decode()
    alive.refresh_from_db()
    assert alive.status == PowerTuning.STOPPED  # it had been asked to stop


def test_the_api_refuses_bad_runs_with_400_and_a_second_run_with_409(owner_page):
    _, function = owner_page
    api = Client(headers=bearer(create_api_token("cy")))
    url = f"/api/functions/{function.slug}/power-tunings"

    def post(body):
        return api.post(url, json.dumps(body), content_type="application/json")

    for body, message in [
        ({"memory_sizes": [128, 99999]}, "memory_sizes"),
        ({"memory_sizes": []}, "at least one"),
        ({"invocations_per_size": 51}, "from 1 to 50"),
        ({"memory_sizes": [128], "colour": "red"}, "Unknown field(s): colour"),
    ]:
        response = post(body)
        assert response.status_code == 400, body
        assert message in response.json()["error"]["message"]
    assert not PowerTuning.objects.exists()

    PowerTuning.objects.create(function=function, memory_sizes=[128], invocations_per_size=1)
    response = post({"memory_sizes": [128]})
    assert response.status_code == 409 and response.json()["error"]["code"] == "Conflict"
    assert api.get(f"{url}/999999").status_code == 404


def test_someone_elses_runs_are_out_of_reach(owner_page):
    _, function = owner_page
    run = PowerTuning.objects.create(function=function, memory_sizes=[128], invocations_per_size=1)
    other = Client()
    other.force_login(get_user_model().objects.create_user("mallory"))
    assert other.get(f"/functions/{function.slug}/tuning/").status_code == 404
    assert other.get(f"/functions/{function.slug}/tuning/{run.pk}.json").status_code == 404
    assert other.post(f"/functions/{function.slug}/tuning/stop").status_code == 404
    api = Client(headers=bearer(create_api_token("mallory")))
    assert api.post(f"/api/functions/{function.slug}/power-tunings/{run.pk}/stop").status_code == 403
    run.refresh_from_db()
    assert not run.stop_requested


def test_the_page_shows_the_default_sizes_and_the_run_on_screen(owner_page):
    client, function = owner_page
    html = client.get(f"/functions/{function.slug}/tuning/").content.decode()
    for size in (128, 256, 512, 1024, 1536, 3008):
        assert f'name="memory_sizes" value="{size}" checked' in html
    run = PowerTuning.objects.create(
        function=function, memory_sizes=[256, 640], invocations_per_size=7, status=PowerTuning.FINISHED
    )
    html = client.get(f"/functions/{function.slug}/tuning/?run={run.pk}").content.decode()
    assert 'name="memory_sizes" value="256" checked' in html
    assert 'name="memory_sizes" value="128" checked' not in html
    assert 'name="more_sizes" value="640"' in html and 'value="7"' in html
    assert f'data-report-url="/functions/{function.slug}/tuning/{run.pk}.json"' in html
