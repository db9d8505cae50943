"""Running a step's check: real invocations of a Function through the sandbox worker."""

import asyncio
import json

from asgiref.sync import sync_to_async
from django.utils import timezone

from sandbox.models import EnvironmentRecord, Function
from sandbox.worker import configure_function, reset_environments, start_invocation, wait_until_finished
from triggers.asyncinvoke import retry_delays

from .checks import evaluate
from .events import fill
from .lesson_buckets import prepare_buckets, with_buckets
from .loader import resolve_event
from .trigger_runs import run_via

TRIGGER = "lesson-check"


def config_fields(config):
    """Function model fields from a step's `function:` settings."""
    fields = {}
    if "memory" in config:
        fields["memory_mb"] = config["memory"]
    if "timeout" in config:
        fields["timeout_s"] = config["timeout"]
    if "reserved_concurrency" in config:
        fields["reserved_concurrency"] = config["reserved_concurrency"]
    if "provisioned_concurrency" in config:
        fields["provisioned_concurrency"] = config["provisioned_concurrency"]
        fields["provisioned_since"] = timezone.now() if config["provisioned_concurrency"] else None
    return fields


def new_function(owner, name, code, handler, config):
    return Function.objects.create(
        owner=owner, name=name[:64], code=code, handler=handler, **config_fields(config)
    )


@sync_to_async
def _provisioned_ready(function):
    return EnvironmentRecord.objects.filter(
        function=function, provisioned=True, ready__isnull=False, ended__isnull=True
    ).count()


async def _wait_provisioned(function, timeout=15.0):
    """Wait (bounded) until the provisioned environments are initialised, as AWS does before
    it reports the configuration READY."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await _provisioned_ready(function) >= function.provisioned_concurrency:
            return True
        await asyncio.sleep(0.1)
    return False


async def _one(function, event):
    invocation = await start_invocation(function, json.dumps(event), TRIGGER)
    return await wait_until_finished(invocation)


async def run_step(function, events, run, checks, hidden_events=(), buckets=(), grants=()):
    """Invoke `function` as the step's run says and evaluate the checks: (Outcome, invocations).

    The visible events come first, then the hidden ones; placeholders are filled afresh, and in
    a sequential run every event is sent at least once."""
    await configure_function(function)
    if function.provisioned_concurrency:
        await _wait_provisioned(function)
    elif run.get("fresh", True):
        await reset_environments(function)
    names = await sync_to_async(prepare_buckets)(function, buckets, grants) if buckets else {}
    events = [with_buckets(fill(resolve_event(e)), names) for e in [*events, *hidden_events]] or [{}]
    if run.get("via"):
        # Through the real event source (S3 notification, SQS poller, async retries): allow the
        # retries' delays on top of the function's own time.
        timeout = function.timeout_s * 4 + sum(retry_delays()) + 30
        invocations = await run_via(function, run["via"], events, timeout)
        return await sync_to_async(evaluate)(checks, invocations), invocations
    concurrent = run.get("concurrent", 1)
    if concurrent > 1:
        invocations = await asyncio.gather(
            *[_one(function, events[i % len(events)]) for i in range(concurrent)]
        )
    else:
        invocations = []
        for i in range(max(run.get("times", 1), len(events))):
            invocations.append(await _one(function, events[i % len(events)]))
    invocations = list(invocations)
    # sync: a computed expectation may read the database (e.g. a lesson bucket's object)
    return await sync_to_async(evaluate)(checks, invocations), invocations
