"""Accounts cost something (docs/security.md, attacks 4-8): page views make no users, guests
and sign-in attempts are rate-limited per client address, anonymous function-URL traffic is
limited before anything is written, bodies are capped however they are sent. Each test ends by
checking that another learner (or visitor) is still served."""

import json
import re
import textwrap
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import AsyncClient, Client
from django.urls import URLPattern, URLResolver, get_resolver

from lessons.loader import sync
from lessons.models import Classroom, StepProgress
from lessons.permissions import INSTRUCTORS
from sandbox.models import ApiToken, Function, Invocation
from tests.asgi_support import asgi_request
from tests.trigger_support import make_function, trigger_worker

User = get_user_model()
TRANSACTIONAL = pytest.mark.django_db(transaction=True)
STEP = "/lessons/first-function/1/"
GREET = textwrap.dedent(
    """
    def handler(event, context):
        name = event.get("name", "world")
        print("Greeting", name)
        return {"statusCode": 200, "body": f"Hello, {name}!"}
    """
).lstrip()


@pytest.fixture
def lessons(db):
    sync()


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings):
        yield


def visitor(address="198.51.100.7"):
    return Client(HTTP_HOST="localhost", REMOTE_ADDR=address)


# ---------------------------------------------------------------- page views make no users
def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):
                yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _fill(route, values):
    """A route with each <converter:name> replaced by a value a page could really be asked for."""

    def value(match):
        name = match.group(2)
        if name == "slug":
            return values["lesson"] if route.startswith(("lessons/",)) else values["function"]
        return str(values[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def test_a_get_of_every_page_creates_no_user(lessons):
    owner = User.objects.create_user(username="ada")
    function = Function.objects.create(owner=owner, name="hello")
    room = Classroom.objects.create(name="Cloud 101", instructor=owner)
    values = {
        "lesson": "first-function",
        "function": function.slug,
        "number": 1,
        "request_id": uuid.uuid4(),
        "code": room.join_code,
        "dirname": "first-function",
        "bucket": "photos",
        "key": "cat.jpg",
        "queue": "orders",
        "path": "anything",
        "run_id": 1,  # a power-tuning run
        "name": "live",  # an alias
    }
    urls = [_fill(route, values) for route in _routes(get_resolver().url_patterns)]
    urls += ["/admin/", "/admin/login/", f"{STEP}?code=X", "/lessons/join?code=" + room.join_code]
    assert len(urls) > 30 and STEP in urls and "/lessons/first-function/1/playground" in urls
    users, functions, progress = User.objects.count(), Function.objects.count(), StepProgress.objects.count()
    for url in urls:
        if url.startswith("/fn/"):
            continue  # function URLs run a handler: tests/test_function_url_isolation.py
        for client in (visitor(), visitor()):
            response = client.get(url)
            assert response.status_code < 500, (url, response.status_code)
    assert User.objects.count() == users
    assert Function.objects.count() == functions
    assert StepProgress.objects.count() == progress
    # The pages still serve someone who acts: the first POST that needs a learner makes one.
    assert visitor().post(f"{STEP}begin", {"action": "save"}).status_code == 302
    assert User.objects.count() == users + 1


def test_forty_cookie_less_page_views_create_no_users(lessons):
    pages = ["/", "/lessons/", "/lessons/first-function/", STEP, f"{STEP}playground", "/lessons/join"]
    for n in range(40):
        response = visitor(f"198.51.100.{n}").get(pages[n % len(pages)], follow=True)
        assert response.status_code == 200
    assert User.objects.count() == 0
    # The step renders for them, with a draft of the starter to edit.
    draft = visitor().get(f"{STEP}playground").content.decode()
    assert 'data-draft="true"' in draft and "def handler" in draft
    # And the server still serves someone who acts.
    client = visitor()
    client.post("/functions/new", {"name": "mine"})
    assert User.objects.count() == 1 and Function.objects.filter(name="mine").exists()


@TRANSACTIONAL
async def test_a_visitors_first_invoke_makes_their_guest_and_runs_their_draft(worker):
    await sync_to_async(sync)()
    client = AsyncClient(HTTP_HOST="localhost")
    page = (await client.get(STEP)).content.decode()
    assert "Step 1" in page and await User.objects.acount() == 0
    response = await client.post(
        f"{STEP}begin", {"code": GREET, "handler": "handler", "event": '{"name": "Ada"}'}
    )
    assert response.status_code == 302 and response["Location"] == STEP
    progress = await StepProgress.objects.select_related("function", "user").aget()
    assert progress.user.username.startswith("guest-") and progress.function.code == GREET
    invocation = await Invocation.objects.aget(function=progress.function)
    assert invocation.status == Invocation.OK and "Greeting Ada" in invocation.logs
    playground = (await client.get(f"{STEP}playground")).content.decode()
    assert f'ws-connect="/ws/functions/{progress.function.slug}/"' in playground
    assert "Greeting Ada" in playground


@TRANSACTIONAL
async def test_a_visitors_first_check_makes_their_guest_and_records_the_check(worker):
    await sync_to_async(sync)()
    client = AsyncClient(HTTP_HOST="localhost")
    response = await client.post(f"{STEP}check", {"code": GREET}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == STEP
    progress = await StepProgress.objects.aget()
    assert progress.attempts == 1 and progress.last_message
    page = (await client.get(STEP)).content.decode()
    assert "check-fail" in page or "check-pass" in page


# ---------------------------------------------------------------- guests per address
def test_guest_creation_is_rate_limited_per_client_address(lessons, settings):
    settings.ABUSE = {**settings.ABUSE, "GUESTS_PER_ADDRESS_PER_HOUR": 3}
    room = Classroom.objects.create(name="Cloud 101", instructor=User.objects.create_user(username="t"))
    first = visitor("198.51.100.7")
    assert first.post("/functions/new", {"name": "one"}).status_code == 302
    assert visitor("198.51.100.7").post(f"{STEP}begin", {"action": "save"}).status_code == 302
    joined = visitor("198.51.100.7").post("/lessons/join", {"code": room.join_code, "display_name": "Bo"})
    assert joined.status_code == 302
    assert User.objects.filter(username__startswith="guest-").count() == 3

    for refused in (
        visitor("198.51.100.7").post("/functions/new", {"name": "four"}),
        visitor("198.51.100.7").post(f"{STEP}begin", {"action": "save"}),
        visitor("198.51.100.7").post("/lessons/join", {"code": room.join_code, "display_name": "Cy"}),
        visitor("198.51.100.7").post(f"{STEP}check", {}, headers={"HX-Request": "true"}),
    ):
        assert refused.status_code == 429
        assert "Too many new guest learners" in refused.content.decode()
        assert int(refused["Retry-After"]) > 0
    assert User.objects.filter(username__startswith="guest-").count() == 3

    # A learner who already has an account keeps working from that address; another address
    # still gets its guests.
    assert first.post("/functions/new", {"name": "two"}).status_code == 302
    assert visitor("198.51.100.8").post("/functions/new", {"name": "other"}).status_code == 302
    assert User.objects.filter(username__startswith="guest-").count() == 4


# ---------------------------------------------------------------- sign-in throttle
def _instructor():
    user = User.objects.create_user(username="teacher", password="a-long-password", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=INSTRUCTORS)[0])
    return user


def _sign_in(client, password, username="teacher", url="/instructor/login"):
    return client.post(url, {"username": username, "password": password})


def _signed_in(client):
    return "_auth_user_id" in client.session


def test_instructor_sign_in_is_throttled_after_failed_attempts(db, settings):
    settings.ABUSE = {**settings.ABUSE, "LOGIN_FAILURES": 3}
    _instructor()
    attacker = visitor("198.51.100.66")
    for _ in range(3):
        assert _sign_in(attacker, "guess").status_code == 200
    locked = _sign_in(attacker, "a-long-password")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    assert int(locked["Retry-After"]) > 0 and not _signed_in(attacker)
    # The admin's sign-in form is held by the same lock (the authentication backend refuses).
    _sign_in(attacker, "a-long-password", url="/admin/login/")
    assert not _signed_in(attacker)
    # The instructor, from their own address, is not locked out by the attacker.
    teacher = visitor("198.51.100.10")
    assert _sign_in(teacher, "a-long-password").status_code == 302 and _signed_in(teacher)


def test_one_address_trying_many_usernames_is_throttled_too(db, settings):
    settings.ABUSE = {**settings.ABUSE, "LOGIN_FAILURES": 2}
    _instructor()
    sprayer = visitor("198.51.100.67")
    for n in range(8):  # 4 x LOGIN_FAILURES, each username failed once
        _sign_in(sprayer, "guess", username=f"user{n}")
    assert _sign_in(sprayer, "a-long-password").status_code == 429 and not _signed_in(sprayer)
    teacher = visitor("198.51.100.10")
    assert _sign_in(teacher, "a-long-password").status_code == 302 and _signed_in(teacher)


# ---------------------------------------------------------------- anonymous /fn/ traffic
ANSWER = 'def handler(event, context):\n    return {"ok": True}\n'


@TRANSACTIONAL
async def test_function_url_traffic_is_limited_per_client_address_before_anything_is_stored(worker, settings):
    settings.ABUSE = {**settings.ABUSE, "FUNCTION_URL_PER_ADDRESS_PER_MINUTE": 3}
    function = await make_function(ANSWER)
    statuses = [
        (await asgi_request("GET", f"/fn/{function.slug}/", client=("198.51.100.9", 1000 + n))).status
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    refused = await asgi_request("GET", "/fn/no-such-function/", client=("198.51.100.9", 2000))
    assert refused.status == 429 and int(refused.header("retry-after")) > 0
    assert json.loads(refused.body) == {"message": "Too Many Requests"}
    assert await Invocation.objects.acount() == 3
    other = await asgi_request("GET", f"/fn/{function.slug}/", client=("198.51.100.10", 1000))
    assert other.status == 200


@TRANSACTIONAL
async def test_function_url_traffic_is_limited_per_function_before_anything_is_stored(worker, settings):
    settings.ABUSE = {**settings.ABUSE, "FUNCTION_URL_PER_FUNCTION_PER_MINUTE": 3}
    function = await make_function(ANSWER)
    statuses = [
        (await asgi_request("GET", f"/fn/{function.slug}/", client=(f"198.51.100.{n}", 1000))).status
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    assert await Invocation.objects.filter(function=function).acount() == 3
    other = await make_function(ANSWER, username="bob")
    assert (await asgi_request("GET", f"/fn/{other.slug}/", client=("198.51.100.1", 1000))).status == 200


# ---------------------------------------------------------------- bodies, chunked or not
@TRANSACTIONAL
async def test_a_chunked_body_without_content_length_is_capped_as_it_arrives(worker, settings):
    settings.ABUSE = {**settings.ABUSE, "REQUEST_BODY_MAX_BYTES": 64 * 1024}
    function = await make_function(ANSWER)
    token = await sync_to_async(ApiToken.issue)(function.owner)
    auth = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]
    url = f"/api/functions/{function.slug}/invocations"
    chunks = [b'{"event": "' + b"x" * 16_000] + [b"x" * 16_000] * 8 + [b'"}']
    response = await asgi_request("POST", url, headers=auth, chunks=chunks)
    assert response.status == 413
    assert json.loads(response.body) == {"message": "Request Entity Too Large: the body limit is 65536 bytes"}
    # Declared too large: refused before a byte is read.
    declared = await asgi_request(
        "POST", "/functions/new", headers=[("Content-Length", "70000")], chunks=[b"name=x"]
    )
    assert declared.status == 413
    # A function URL's own limit, chunked too.
    fn = await asgi_request("POST", f"/fn/{function.slug}/", chunks=[b"y" * (1 << 20)] * 6)
    assert fn.status == 413 and b"body limit" in fn.body
    assert await Invocation.objects.acount() == 0
    # Under the limit, chunked, it is served.
    small = [b'{"event": ', b'{"n": 1}', b"}"]
    ok = await asgi_request("POST", url, headers=auth, chunks=small)
    assert ok.status == 200, ok.body
    assert (await asgi_request("GET", f"/fn/{function.slug}/")).status == 200
