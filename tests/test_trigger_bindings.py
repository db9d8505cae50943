"""Event sources bound to an alias: the function URL, a queue subscription, a bucket subscription
and a schedule invoke the alias's version (real sandboxed handlers, the embedded worker)."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from sandbox import versions
from sandbox.models import Invocation
from tests.trigger_support import AsyncClient, eventually, make_function, trigger_worker
from triggers import bindings, buckets, queues, schedules

TRANSACTIONAL = pytest.mark.django_db(transaction=True)
WHICH = """
def handler(event, context):
    return {"statusCode": 200, "body": "v1"}
"""


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings):
        yield


@sync_to_async
def published_with_alias(function, alias="live"):
    """Version 1 returns v1; $LATEST then returns latest; the alias points at version 1."""
    versions.publish(function)
    function.code = WHICH.replace('"v1"', '"latest"')
    function.save()
    versions.put_alias(function, alias, "1")
    return function


@TRANSACTIONAL
async def test_the_function_url_invokes_latest_until_bound_to_an_alias(worker):
    function = await published_with_alias(await make_function(WHICH))
    client = AsyncClient()
    response = await client.get(f"/fn/{function.slug}/")
    assert response.content == b"latest"
    await sync_to_async(bindings.bind_function_url)(function, "live")
    response = await client.get(f"/fn/{function.slug}/")
    assert response.content == b"v1"
    invocation = await Invocation.objects.filter(function=function).order_by("-created").afirst()
    assert (invocation.trigger, invocation.qualifier, invocation.executed_version) == ("http", "live", "1")
    assert invocation.logs.startswith(f"START RequestId: {invocation.request_id} Version: 1")


@TRANSACTIONAL
async def test_a_queue_subscription_bound_to_an_alias_delivers_to_its_version(worker):
    function = await published_with_alias(await make_function(WHICH))

    @sync_to_async
    def subscribe():
        queue = queues.create_queue(function.owner, "orders", visibility_timeout_s=0.5)
        queues.subscribe(queue, function, 10, 0, True, qualifier="live")
        queues.send_message(queue, "one order")

    await subscribe()

    def delivered():
        return Invocation.objects.filter(function=function, trigger="sqs", status="ok").first()

    invocation = await eventually(delivered)
    assert (invocation.qualifier, invocation.executed_version) == ("live", "1")
    assert invocation.result == {"statusCode": 200, "body": "v1"}


@TRANSACTIONAL
async def test_a_bucket_subscription_and_a_schedule_bound_to_an_alias_run_its_version(worker):
    function = await published_with_alias(await make_function(WHICH))

    @sync_to_async
    def wire():
        bucket = buckets.create_bucket(function.owner, "uploads-of-ada")
        buckets.subscribe(bucket, function, qualifier="live")
        buckets.put_object(bucket, "cat.jpg", b"meow", "image/jpeg")
        schedules.create_schedule(function, "every-minute", "rate(1 minute)", qualifier="live")

    await wire()

    def ran_both():
        rows = list(Invocation.objects.filter(function=function, status="ok"))
        triggers = {row.trigger for row in rows}
        return rows if {"s3", "schedule"} <= triggers else None

    rows = await eventually(ran_both)
    assert {(row.qualifier, row.executed_version) for row in rows} == {("live", "1")}
    assert (
        json.loads(next(r for r in rows if r.trigger == "s3").event)["Records"][0]["s3"]["object"]["key"]
        == "cat.jpg"
    )


def test_a_binding_to_something_that_does_not_exist_is_refused_on_the_page(db):
    from django.contrib.auth import get_user_model

    from sandbox.models import Function

    owner = get_user_model().objects.create(username="ada")
    function = Function.objects.create(owner=owner, name="fn", code=WHICH)
    browser = Client()
    browser.force_login(owner)
    response = browser.post(
        f"/functions/{function.slug}/triggers/action",
        {"action": "http_bind", "qualifier": "nope"},
        follow=True,
    )
    assert "Alias not found" in response.content.decode()
    function.refresh_from_db()
    assert function.url_qualifier == ""
    versions.publish(function)
    versions.put_alias(function, "live", "1")
    response = browser.post(
        f"/functions/{function.slug}/triggers/action",
        {"action": "http_bind", "qualifier": "live"},
        follow=True,
    )
    assert "The function URL now invokes live" in response.content.decode()
    assert "selected>alias live" in response.content.decode()
    with pytest.raises(versions.Conflict, match="the function URL"):
        versions.delete_alias(function, "live")
