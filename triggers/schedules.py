"""EventBridge schedules: a due schedule sends a Scheduled Event as an asynchronous invoke.

With settings.TIMER_SCALE < 1 (classroom speed) the gaps between fires are scaled: a
`rate(5 minutes)` rule fires every 30 s at 0.1. `next_fire` stays the schedule time the rule
stands for (it is the event's `time`); `due` is when it really fires.
"""

import asyncio
import json
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox.db_threads import in_db_thread
from sandbox.engine.rules import events
from sandbox.versions import VersionsError

from . import cron
from .asyncinvoke import enqueue
from .bindings import check_binding
from .models import Schedule

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
RULE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def validate(name, expression):
    if not RULE_NAME.fullmatch(name or ""):
        raise cron.ScheduleError("A rule name is 1-64 characters: letters, digits, '.', '-' and '_'.")
    cron.parse(expression)
    if not cron.next_fire_times(expression, timezone.now(), 1):
        raise cron.ScheduleError(f"{expression} never fires again (its years are all in the past).")


def arm(schedule, now=None):
    """Set next_fire/due from now (on create and enable)."""
    now = now or timezone.now()
    upcoming = cron.next_fire_times(schedule.expression, now, 1)
    if not upcoming:
        schedule.next_fire = schedule.due = None
        return schedule
    schedule.next_fire = upcoming[0]
    schedule.due = now + (upcoming[0] - now) * settings.TIMER_SCALE
    return schedule


def create_schedule(function, name, expression, enabled=True, qualifier=""):
    validate(name, expression)
    qualifier = check_binding(function, qualifier)
    schedule = Schedule(
        function=function, name=name, expression=expression.strip(), enabled=enabled, qualifier=qualifier
    )
    arm(schedule)
    schedule.save()
    return schedule


def set_enabled(schedule, enabled):
    schedule.enabled = enabled
    if enabled:
        arm(schedule)
    schedule.save()


def upcoming(schedule, n=5):
    """[(schedule time, real fire time)] of the next n fires."""
    if not schedule.enabled or schedule.next_fire is None:
        return []
    times = [schedule.next_fire, *cron.next_fire_times(schedule.expression, schedule.next_fire, n - 1)]
    scale = settings.TIMER_SCALE
    return [(t, schedule.due + (t - schedule.next_fire) * scale) for t in times]


def fire_due(now=None):
    """Fire every due schedule once (missed fires while the server was down collapse into one).
    Returns the AsyncEvents queued."""
    now = now or timezone.now()
    queued = []
    for schedule in Schedule.objects.filter(enabled=True, due__lte=now).select_related("function"):
        fired_at = schedule.next_fire
        scale = settings.TIMER_SCALE
        following = cron.next_fire_times(schedule.expression, fired_at, 1)
        next_fire = following[0] if following else None
        due = schedule.due + (next_fire - fired_at) * scale if next_fire else None
        if due is not None and due <= now:  # missed fires while the server was down
            if scale == 1:
                following = cron.next_fire_times(schedule.expression, now, 1)
                next_fire = due = following[0] if following else None
            else:
                due = now + (next_fire - fired_at) * scale
        with transaction.atomic():
            won = Schedule.objects.filter(pk=schedule.pk, due=schedule.due, enabled=True).update(
                next_fire=next_fire,
                due=due,
                last_fired=now,
                fire_count=schedule.fire_count + 1,
                enabled=next_fire is not None,
            )
            if not won:
                continue  # another poller fired it
            event = events.schedule(rule=schedule.name, when=fired_at)
            try:
                queued.append(
                    enqueue(
                        schedule.function, json.dumps(event), trigger="schedule", qualifier=schedule.qualifier
                    )
                )
            except VersionsError as exc:  # its alias is gone (refused by delete_alias, but a race)
                log.warning("schedule %s not delivered: %s", schedule.pk, exc)
    return queued


async def run_forever():
    while True:
        try:
            await in_db_thread(fire_due, writes=True)()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler failed; continuing")
        await asyncio.sleep(POLL_SECONDS)


def describe_scale():
    scale = settings.TIMER_SCALE
    if scale == 1:
        return ""
    return f"accelerated ×{1 / scale:g}: each gap between fires is {scale:g} of its real length"
