"""Fair shares of one classroom server, at configuration time: reservations leave the unreserved
floor, one learner's reservations, provisioned environments and their memory stay within the
learner's share; a value over a cap is a 400 naming it, on the API and on the pages. A NUL
character in an environment variable is a 400 too. Then, with the real worker, one learner's
reservations leave another learner running."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from sandbox import versions
from sandbox.models import Function
from tests.playground_support import embedded_worker
from tests.test_api import AsyncApi, bearer, create_api_token, error_of, invoke

GREETER = "def handler(event, context):\n    return {'hello': event.get('name')}\n"


@pytest.fixture
def shares(settings):
    """A small server: 8 concurrent executions, 2 of them never reservable; a learner may
    reserve 5, keep 2 provisioned environments and 1024 MB of them."""
    settings.SCALING = {
        **settings.SCALING,
        "ACCOUNT_CONCURRENCY": 8,
        "UNRESERVED_FLOOR": 2,
        "LEARNER_RESERVED": 5,
        "LEARNER_PROVISIONED": 2,
        "LEARNER_MEMORY_MB": 1024,
    }
    return settings.SCALING


def api_for(username):
    token = create_api_token(username)
    return Client(headers=bearer(token))


def function_of(username, **fields):
    owner = get_user_model().objects.get_or_create(username=username)[0]
    return Function.objects.create(
        owner=owner, name=f"{username}-{Function.objects.count()}", code=GREETER, **fields
    )


def put(client, function, data):
    return client.put(f"/api/functions/{function.slug}", data, content_type="application/json")


@pytest.mark.django_db
def test_a_learner_s_reservations_together_stay_within_their_share(shares):
    client = api_for("mallory")
    first, second = function_of("mallory"), function_of("mallory")
    assert put(client, first, {"reserved_concurrency": 4}).status_code == 200

    response = put(client, second, {"reserved_concurrency": 2})

    assert response.status_code == 400
    message = error_of(response)["message"]
    assert "your functions may reserve 5 in all and the others already reserve 4" in message
    assert "at most 1 is left for this one" in message
    second.refresh_from_db()
    assert second.reserved_concurrency is None
    assert put(client, second, {"reserved_concurrency": 1}).status_code == 200


@pytest.mark.django_db
def test_all_reservations_together_leave_the_unreserved_floor(shares):
    function_of("alice", reserved_concurrency=5)
    client = api_for("bob")
    bobs = function_of("bob")

    response = put(client, bobs, {"reserved_concurrency": 2})

    assert response.status_code == 400
    message = error_of(response)["message"]
    assert "of this server's 8 concurrent executions, 2 always stay unreserved" in message
    assert "other functions reserve 5, so at most 1 can be reserved now" in message
    assert put(client, bobs, {"reserved_concurrency": 1}).status_code == 200
    assert put(client, bobs, {"reserved_concurrency": 0}).status_code == 200  # disabling is free


def provision(client, function, count):
    """Provisioned concurrency on version 1 (published on first use), as Lambda puts it: on a
    version or an alias, never on $LATEST."""
    if not function.versions.exists():
        versions.publish(function)
    return client.put(
        f"/api/functions/{function.slug}/provisioned-concurrency?qualifier=1",
        {"provisioned_concurrent_executions": count},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_provisioned_environments_stay_within_the_learner_s_count_and_memory(shares):
    client = api_for("mallory")
    small, big = function_of("mallory", memory_mb=128), function_of("mallory", memory_mb=1024)
    assert provision(client, small, 2).status_code == 202

    over_count = provision(client, big, 1)
    assert client.delete(f"/api/functions/{small.slug}/provisioned-concurrency?qualifier=1").status_code < 300
    over_memory = provision(client, big, 2)

    assert over_count.status_code == 400
    assert (
        "may keep 2 provisioned environments in all and the others keep 2" in error_of(over_count)["message"]
    )
    assert over_memory.status_code == 400
    assert (
        "would hold 2048 MB: your share of this server's memory is 1024 MB"
        in error_of(over_memory)["message"]
    )
    assert provision(client, big, 1).status_code == 202


@pytest.mark.django_db
def test_the_scaling_page_answers_400_with_the_cap_and_keeps_the_saved_value(shares):
    function = function_of("mallory")
    browser = Client()
    browser.force_login(function.owner)

    response = browser.post(
        f"/functions/{function.slug}/scale/config",
        {"reserved_concurrency": "7"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "your functions may reserve 5 in all" in page
    assert 'role="alert"' in page
    assert 'value=""' in page  # the stored (unreserved) value, not the refused 7
    function.refresh_from_db()
    assert function.reserved_concurrency is None


@pytest.mark.django_db
def test_the_lesson_s_concurrency_box_answers_400_with_the_cap(shares):
    from lessons.loader import sync
    from lessons.models import Step
    from lessons.progress import progress_for

    sync()
    step = Step.objects.get(lesson__slug="scaling", number=2)
    learner = get_user_model().objects.create_user("mallory")
    function_of("mallory", reserved_concurrency=5)
    row = progress_for(learner, step)
    browser = Client()
    browser.force_login(learner)

    response = browser.post("/lessons/scaling/2/concurrency", {"reserved_concurrency": "1"})

    assert response.status_code == 400
    assert "your functions may reserve 5 in all and the others already reserve 5" in response.content.decode()
    row.function.refresh_from_db()
    assert row.function.reserved_concurrency is None


@pytest.mark.django_db
@pytest.mark.parametrize("environment", [{"BAD": "a\x00b"}, "GOOD=1\nBAD=a\x00b"])
def test_a_nul_character_in_an_environment_variable_is_a_400(environment):
    client = api_for("mallory")
    function = function_of("mallory")

    response = put(client, function, {"environment": environment})

    assert response.status_code == 400
    assert "The value of BAD contains a NUL character" in error_of(response)["message"]
    function.refresh_from_db()
    assert function.environment == {}


@pytest.mark.django_db(transaction=True)
async def test_one_learner_s_reservations_leave_another_learner_running(settings):
    settings.SCALING = {**settings.SCALING, "ACCOUNT_CONCURRENCY": 4, "UNRESERVED_FLOOR": 1}
    async with embedded_worker(settings):
        # Stored before the floor existed: more than the whole server can reserve.
        greedy = [await sync_to_async(function_of)("mallory", reserved_concurrency=n) for n in (3, 4)]
        alice = await sync_to_async(function_of)("alice")
        mallory_api = AsyncApi(bearer(await sync_to_async(create_api_token)("mallory")))
        alice_api = AsyncApi(bearer(await sync_to_async(create_api_token)("alice")))
        for function in greedy:  # the worker now holds both reservations
            assert (await invoke(mallory_api, function, {"name": "mallory"})).status_code == 200

        response = await invoke(alice_api, alice, {"name": "alice"})

        assert response.status_code == 200, response.content
        assert response.json()["result"] == {"hello": "alice"}
