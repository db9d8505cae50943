"""Schedules: validated expressions, accelerated firing (TIMER_SCALE), Scheduled Events delivered
as asynchronous invokes, enable/disable, and the next five fire times on the page."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from sandbox.models import Invocation
from tests.trigger_support import eventually, make_function, trigger_worker
from triggers import schedules
from triggers.cron import ScheduleError
from triggers.models import Schedule

TRANSACTIONAL = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def worker(transactional_db, settings):
    async with trigger_worker(settings, timer_scale=0.005):  # rate(1 minute) fires every 0.3 s
        yield


@TRANSACTIONAL
async def test_a_rate_schedule_fires_scheduled_events_until_disabled(worker):
    function = await make_function("def handler(event, context):\n    return event['time']\n")
    schedule = await sync_to_async(schedules.create_schedule)(function, "every-minute", "rate(1 minute)")

    def fired_twice():
        rows = list(Invocation.objects.filter(function=function, status="ok").order_by("created"))
        return rows if len(rows) >= 2 else None

    first, second = (await eventually(fired_twice))[:2]
    assert first.trigger == "schedule"
    event = json.loads(first.event)
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/every-minute"]
    times = [json.loads(i.event)["time"] for i in (first, second)]
    assert times[0] < times[1]  # one schedule minute apart, though fired 0.3 s apart

    await sync_to_async(schedules.set_enabled)(await Schedule.objects.aget(pk=schedule.pk), False)
    import asyncio

    await asyncio.sleep(0.5)  # let a fire already queued finish
    count = await Invocation.objects.filter(function=function).acount()
    await asyncio.sleep(1.0)
    assert await Invocation.objects.filter(function=function).acount() == count


def test_the_page_lists_the_next_five_fires_and_labels_acceleration(db, settings):
    settings.TIMER_SCALE = 0.1
    from django.contrib.auth import get_user_model

    from sandbox.models import Function

    owner = get_user_model().objects.create(username="ada")
    function = Function.objects.create(owner=owner, name="cronfn")
    schedule = schedules.create_schedule(function, "noon", "cron(0 12 * * ? *)")
    upcoming = schedules.upcoming(schedule)
    assert len(upcoming) == 5
    assert all(t.hour == 12 and t.minute == 0 for t, _ in upcoming)
    assert all(b - a == timedelta(days=1) for (a, _), (b, _) in zip(upcoming, upcoming[1:], strict=False))
    real_gaps = {
        round((b - a).total_seconds()) for (_, a), (_, b) in zip(upcoming, upcoming[1:], strict=False)
    }
    assert real_gaps == {8640}  # a day x 0.1

    client = Client()
    client.force_login(owner)
    html = client.get(f"/functions/{function.slug}/triggers/").content.decode()
    assert "accelerated ×10" in html
    assert html.count(":00</td>") >= 5
    assert "Fires at (accelerated)" in html


def test_malformed_expressions_are_rejected_with_the_reason_on_the_page(db):
    from django.contrib.auth import get_user_model

    from sandbox.models import Function

    owner = get_user_model().objects.create(username="ada")
    function = Function.objects.create(owner=owner, name="cronfn")
    with pytest.raises(ScheduleError):
        schedules.create_schedule(function, "bad", "cron(0 12 L * ? *)")
    client = Client()
    client.force_login(owner)
    response = client.post(
        f"/functions/{function.slug}/triggers/action",
        {"action": "schedule_create", "name": "bad", "expression": "cron(0 12 * * * *)"},
        follow=True,
    )
    assert "use ? in exactly one of day-of-month and day-of-week" in response.content.decode()
    assert not Schedule.objects.exists()
