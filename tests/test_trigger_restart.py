"""Everything a trigger needs is in the database: after a restart, a fresh worker delivers the
queue messages left pending (and those a dead worker had in flight, once their visibility
timeout passes), runs stored asynchronous events, and fires due schedules."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from sandbox.models import Invocation
from tests.trigger_support import eventually, make_function, trigger_worker
from triggers import asyncinvoke, queues, schedules
from triggers.models import AsyncEvent, QueueMessage, QueueSubscription

TRANSACTIONAL = pytest.mark.django_db(transaction=True)


@sync_to_async
def state_left_by_a_stopped_server(function):
    queue = queues.create_queue(function.owner, "jobs", visibility_timeout_s=0.5, max_receive_count=5)
    QueueSubscription.objects.create(queue=queue, function=function, batch_size=10)
    queues.send_message(queue, "pending 1")
    queues.send_message(queue, "pending 2")
    in_flight = queues.send_message(queue, "was in flight")
    QueueMessage.objects.filter(pk=in_flight.pk).update(
        receive_count=1, visible_at=timezone.now() + timedelta(seconds=0.5), receipt="dead-worker"
    )
    event = asyncinvoke.enqueue(function, json.dumps({"stored": True}), "api")
    schedule = schedules.create_schedule(function, "tick", "rate(5 minutes)")
    schedule.due = timezone.now() - timedelta(seconds=1)
    schedule.save()
    return queue, event


@TRANSACTIONAL
async def test_a_fresh_worker_delivers_what_was_pending_in_the_database(transactional_db, settings):
    function = await make_function("def handler(event, context):\n    return None\n")
    queue, event = await state_left_by_a_stopped_server(function)
    assert await Invocation.objects.exclude(status="queued").acount() == 0

    async with trigger_worker(settings):

        def all_done():
            queue_empty = not QueueMessage.objects.filter(queue=queue).exists()
            stored_done = AsyncEvent.objects.filter(pk=event.pk, status="succeeded").exists()
            fired = Invocation.objects.filter(function=function, trigger="schedule", status="ok").exists()
            return queue_empty and stored_done and fired

        await eventually(all_done)

    sqs = [json.loads(i.event) async for i in Invocation.objects.filter(trigger="sqs").order_by("created")]
    delivered = {r["body"]: r["attributes"]["ApproximateReceiveCount"] for e in sqs for r in e["Records"]}
    assert delivered == {"pending 1": "1", "pending 2": "1", "was in flight": "2"}
