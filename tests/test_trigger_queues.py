"""SQS-like queues with real sandboxed handlers: batches, partial batch responses, the visibility
timeout, maxReceiveCount -> dead-letter queue, the batching window, and bad messages."""

import json

import pytest
from asgiref.sync import sync_to_async

from sandbox.models import ApiToken, Invocation, token_digest
from tests.trigger_support import AsyncClient, eventually, make_function, trigger_worker
from triggers import queues
from triggers.models import Queue, QueueMessage, QueueSubscription

TRANSACTIONAL = pytest.mark.django_db(transaction=True)

PARTIAL = """
def handler(event, context):
    failed = [r["messageId"] for r in event["Records"] if r["body"] == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
"""
ALWAYS_FAILS = 'def handler(event, context):\n    raise RuntimeError("cannot process")\n'


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings):
        yield


@sync_to_async
def setup_queue(function, bodies=(), dlq=False, visibility=0.5, max_receive=5, **subscription):
    dead = Queue.objects.create(owner_id=function.owner_id, name="orders-dlq") if dlq else None
    queue = queues.create_queue(
        function.owner,
        "orders",
        visibility_timeout_s=visibility,
        max_receive_count=max_receive,
        dead_letter_queue=dead,
    )
    messages = [queues.send_message(queue, body) for body in bodies]
    QueueSubscription.objects.create(queue=queue, function=function, **subscription)
    return queue, dead, messages


def sqs_events(function):
    return [
        json.loads(i.event) for i in Invocation.objects.filter(function=function).order_by("created", "id")
    ]


@TRANSACTIONAL
async def test_a_partial_batch_response_deletes_only_the_messages_that_succeeded(worker):
    function = await make_function(PARTIAL)
    queue, _, messages = await setup_queue(function, ["ok 1", "fail", "ok 2"])

    def redelivered():
        events = sqs_events(function)
        return events if len(events) >= 2 else None

    events = await eventually(redelivered)
    first, second = events[0]["Records"], events[1]["Records"]
    assert [r["body"] for r in first] == ["ok 1", "fail", "ok 2"]
    assert all(r["attributes"]["ApproximateReceiveCount"] == "1" for r in first)
    assert [r["body"] for r in second] == ["fail"]
    assert second[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert second[0]["messageId"] == str(messages[1].message_id)
    remaining = [m.body async for m in QueueMessage.objects.filter(queue=queue)]
    assert remaining == ["fail"]
    invocation = await Invocation.objects.filter(function=function).afirst()
    assert invocation.trigger == "sqs"


@TRANSACTIONAL
async def test_a_failed_batch_comes_back_after_the_visibility_timeout(worker):
    function = await make_function(ALWAYS_FAILS)
    queue, _, _ = await setup_queue(function, ["a", "b"], visibility=0.8, max_receive=10)

    def two_attempts():
        rows = list(Invocation.objects.filter(function=function).order_by("created"))
        return rows if len(rows) >= 2 and rows[1].is_finished else None

    first, second = (await eventually(two_attempts))[:2]
    gap = (second.created - first.created).total_seconds()
    assert gap >= 0.8, gap
    records = json.loads(second.event)["Records"]
    assert [r["body"] for r in records] == ["a", "b"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in records} == {"2"}
    assert await QueueMessage.objects.filter(queue=queue).acount() == 2


@TRANSACTIONAL
async def test_after_max_receive_count_a_message_moves_to_the_dead_letter_queue(worker):
    function = await make_function(ALWAYS_FAILS)
    queue, dead, messages = await setup_queue(function, ["poison"], dlq=True, visibility=0.3, max_receive=2)

    def in_dlq():
        return QueueMessage.objects.filter(queue=dead).first()

    moved = await eventually(in_dlq)
    assert moved.message_id == messages[0].message_id
    assert moved.moved_from == "orders"
    assert moved.body == "poison"
    assert await QueueMessage.objects.filter(queue=queue).acount() == 0
    assert await Invocation.objects.filter(function=function).acount() == 2


@TRANSACTIONAL
async def test_the_batching_window_gathers_messages_into_one_batch(worker):
    function = await make_function("def handler(event, context):\n    return None\n")
    queue, _, _ = await setup_queue(function, ["first"], batch_size=10, batch_window_s=0.6)
    await sync_to_async(queues.send_message)(queue, "second")
    await sync_to_async(queues.send_message)(queue, "third")

    def emptied():
        return not QueueMessage.objects.filter(queue=queue).exists() and sqs_events(function)

    events = await eventually(emptied)
    assert len(events) == 1
    assert [r["body"] for r in events[0]["Records"]] == ["first", "second", "third"]


@TRANSACTIONAL
async def test_the_batch_size_caps_each_batch(worker):
    function = await make_function("def handler(event, context):\n    return None\n")
    queue, _, _ = await setup_queue(function, [f"m{i}" for i in range(5)], batch_size=2)

    def emptied():
        return not QueueMessage.objects.filter(queue=queue).exists() and sqs_events(function)

    events = await eventually(emptied)
    assert [len(e["Records"]) for e in events] == [2, 2, 1]


@TRANSACTIONAL
async def test_sending_through_the_api_validates_the_message(worker):
    function = await make_function("def handler(event, context):\n    return None\n")
    queue = await sync_to_async(queues.create_queue)(function.owner, "inbox")
    token = await ApiToken.objects.acreate(user_id=function.owner_id, digest=token_digest("queue-token"))
    client = AsyncClient()

    async def send(name, payload):
        return await client.post(
            f"/queues/{name}/messages",
            data=payload,
            content_type="application/json",
            headers={"Authorization": "Bearer queue-token"},
        )

    response = await send("inbox", json.dumps({"body": "hello"}))
    assert response.status_code == 201
    assert response.json()["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    for payload, fragment in [
        (json.dumps({"body": ""}), "must not be empty"),
        (json.dumps({"body": {"not": "text"}}), "must be a string"),
        (json.dumps({"body": "x" * (256 * 1024 + 1)}), "256 KB"),
        (json.dumps({"nobody": 1}), '{"body"'),
        ("not json", "not valid JSON"),
    ]:
        response = await send("inbox", payload)
        assert response.status_code == 400, payload[:40]
        assert fragment in response.json()["error"]["message"]
    response = await send("nope", json.dumps({"body": "x"}))
    assert response.status_code == 404
    assert await QueueMessage.objects.filter(queue=queue).acount() == 1
    assert token


@TRANSACTIONAL
async def test_a_subscription_deleted_after_the_poller_listed_it_is_skipped_quietly():
    # The poller lists subscriptions, then claims a batch for each: a learner may delete one in
    # between. That is no poller failure, and the queue's messages stay where they are.
    function = await make_function(PARTIAL)
    queue, _, _ = await setup_queue(function, ["ok"])
    subscription = await QueueSubscription.objects.aget(queue=queue)
    listed = subscription.pk
    await subscription.adelete()
    assert await queues._receive(listed, None) == (None, None)
    assert await QueueMessage.objects.filter(queue=queue).acount() == 1
