"""Running a step's check: real invocations of a Function through the sandbox worker."""

import asyncio
import json

from asgiref.sync import sync_to_async

from sandbox import versions
from sandbox.models import EnvironmentRecord, Function
from sandbox.web.metrics import function_metrics
from sandbox.worker import configure_function, reset_environments, start_invocation, wait_until_finished

from .checks import evaluate
from .loader import resolve_event

TRIGGER = "lesson-check"
# Provisioned concurrency lives on an alias (AWS never provisions $LATEST): a step's
# `provisioned_concurrency` is the provisioned concurrency of this alias of the learner's code.
LESSON_ALIAS = "live"


def config_fields(config):
    """Function model fields from a step's `function:` settings (provisioned concurrency is
    not one: see apply_provisioned)."""
    fields = {}
    if "memory" in config:
        fields["memory_mb"] = config["memory"]
    if "timeout" in config:
        fields["timeout_s"] = config["timeout"]
    if "reserved_concurrency" in config:
        fields["reserved_concurrency"] = config["reserved_concurrency"]
    return fields


def apply_provisioned(function, count):
    """In one step, as the Scaling tab does: publish $LATEST, point the alias `live` at it and
    give it `count` provisioned environments; 0 removes the provisioned concurrency."""
    if count:
        versions.publish_and_point(function, LESSON_ALIAS, provisioned=count)
    elif function.aliases.filter(name=LESSON_ALIAS).exists():
        versions.set_provisioned(function, LESSON_ALIAS, 0)


def new_function(owner, name, code, handler, config):
    function = Function.objects.create(
        owner=owner, name=name[:64], code=code, handler=handler, **config_fields(config)
    )
    if config.get("provisioned_concurrency"):
        apply_provisioned(function, config["provisioned_concurrency"])
    return function


def _provisioned_alias(function):
    """The qualifier a check invokes: the alias `live` when it has provisioned concurrency,
    moved first to the code the learner has now (a new version only when it changed)."""
    if not versions.provisioned_of(function, LESSON_ALIAS):
        return "", None
    version, alias = versions.publish_and_point(function, LESSON_ALIAS)
    return LESSON_ALIAS, (str(version.number), versions.provisioned_of(function, LESSON_ALIAS))


@sync_to_async
def _provisioned_ready(function, version):
    return EnvironmentRecord.objects.filter(
        function=function, version=version, provisioned=True, ready__isnull=False, ended__isnull=True
    ).count()


async def _wait_provisioned(function, version, count, timeout=15.0):
    """Wait (bounded) until the provisioned environments are initialised, as AWS does before
    it reports the configuration READY."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await _provisioned_ready(function, version) >= count:
            return True
        await asyncio.sleep(0.1)
    return False


async def _one(function, event, qualifier=""):
    invocation = await start_invocation(function, json.dumps(event), TRIGGER, qualifier=qualifier)
    return await wait_until_finished(invocation)


async def run_step(function, events, run, checks):
    """Invoke `function` as the step's run says and evaluate the checks: (Outcome, invocations).
    A function with provisioned concurrency on its alias `live` is invoked through the alias."""
    qualifier, provisioned = await sync_to_async(_provisioned_alias)(function)
    await configure_function(function)
    if provisioned:
        await _wait_provisioned(function, *provisioned)
    elif run.get("fresh", True):
        await reset_environments(function)
    events = [resolve_event(e) for e in events] or [{}]
    concurrent = run.get("concurrent", 1)
    if concurrent > 1:
        invocations = await asyncio.gather(
            *[_one(function, events[i % len(events)], qualifier) for i in range(concurrent)]
        )
    else:
        invocations = []
        for i in range(run.get("times", 1)):
            invocations.append(await _one(function, events[i % len(events)], qualifier))
    metrics = None
    if any("throttles_at_least" in c for c in checks):
        metrics = await sync_to_async(function_metrics)(function)
    return evaluate(checks, list(invocations), metrics), list(invocations)
