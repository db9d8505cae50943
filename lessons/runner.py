"""Running a step's check: real invocations of a Function through the sandbox worker.

A class shares one server, so a Check can meet other learners' load: its invocations are
admitted first (priority "check"), and when the platform still gets in the way (a throttle for
capacity, a lost worker, an environment taken away, a time check on a busy host) the step runs
again; if it never gets a fair run, the answer is "not judged", never a failing verdict."""

import asyncio
import json

from asgiref.sync import sync_to_async

from sandbox import versions
from sandbox.models import EnvironmentRecord, Function
from sandbox.worker import configure_function, reset_environments, start_invocation, wait_until_finished
from triggers.asyncinvoke import retry_delays

from .checks import Outcome, evaluate, not_judged, platform_interference
from .events import fill
from .lesson_buckets import prepare_buckets, with_buckets
from .loader import resolve_event
from .trigger_runs import run_via

TRIGGER = "lesson-check"
# Provisioned concurrency lives on an alias (AWS never provisions $LATEST): a step's
# `provisioned_concurrency` is the provisioned concurrency of this alias of the learner's code.
LESSON_ALIAS = "live"
# A run the platform got in the way of runs again, up to ATTEMPTS times in all; one that failed a
# time check (or timed out) runs once more, and that second run's verdict stands.
ATTEMPTS = 3
RETRY_PAUSE_S = (1.0, 2.0)  # before the second and the third attempt
TIMED_ATTEMPTS = 2
TIMED_PAUSE_S = 0.5


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
    if "logging" in config:
        fields["logging"] = config["logging"]
    return fields


def attach_layers(function, names):
    """Attach the newest visible version of each named layer (a step's `layers:` setting)."""
    from sandbox.layers.arns import layer_version_arn
    from sandbox.layers.attach import visible_to

    arns = []
    for name in names:
        version = visible_to(function.owner).filter(name=name).order_by("-version").first()
        if version is not None:
            arns.append(layer_version_arn(version.name, version.version))
    function.layers = arns
    function.save(update_fields=["layers"])


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
    if config.get("layers"):
        attach_layers(function, config["layers"])
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


@sync_to_async
def _provisioned_failed(function, version):
    """Whether a provisioned environment of this version failed its Init (the code's doing)."""
    return EnvironmentRecord.objects.filter(
        function=function, version=version, provisioned=True, end_reason__in=("init_failed", "failed")
    ).exists()


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


def tuned_memory_checks(function, checks):
    """`memory_from_tuning: cheapest|fastest` becomes a memory_size check with what the
    learner's own latest power-tuning sweep found: (checks, or a problem when there is none)."""
    from sandbox.models import PowerTuning
    from sandbox.web.tuning_runs import run_report

    out = []
    for check in checks:
        pick = check.get("memory_from_tuning")
        if pick is None:
            out.append(check)
            continue
        run = function.power_tunings.filter(status=PowerTuning.FINISHED).first()
        report = run_report(run) if run else None
        sizes = len([r for r in report["results"] if r["invocations"]]) if report else 0
        if report is None or sizes < 3 or report[pick] is None:
            return checks, (
                "Run a power-tuning sweep of this function first (the Power tuning tab), over at least "
                "3 memory sizes, and let it finish."
            )
        out.append({"memory_size": report[pick], **{k: v for k, v in check.items() if k == "message"}})
    return out, None


def layer_problem(function, checks):
    """`layer_attached: NAME` / `layer_detached: NAME`: whether the function lists a version of
    that layer (its configuration, which no handler code can fake). A problem, or None."""
    from sandbox.layers.arns import parse_version_arn

    names = {parsed[0] for parsed in map(parse_version_arn, function.layers or []) if parsed}
    for check in checks:
        if "layer_attached" in check and check["layer_attached"] not in names:
            return check.get("message") or f"Attach the layer {check['layer_attached']} (the Layers panel)."
        if "layer_detached" in check and check["layer_detached"] in names:
            return check.get("message") or f"Detach the layer {check['layer_detached']} (the Layers panel)."
    return None


def missing_qualifier(qualifier, exc):
    """The check invokes a version or alias the learner has not made yet."""
    return Outcome(
        passed=False,
        failures=[f"This step invokes {qualifier!r}, which your function does not have yet: {exc.message}"],
        summary=f"This step invokes {qualifier!r}, which your function does not have yet: {exc.message}",
    )


async def _one(function, event, qualifier=""):
    invocation = await start_invocation(
        function, json.dumps(event), TRIGGER, qualifier=qualifier, priority="check"
    )
    return await wait_until_finished(invocation)


async def run_step(function, events, run, checks, hidden_events=(), buckets=(), grants=()):
    """Invoke `function` as the step's run says and evaluate the checks: (Outcome, invocations).

    The visible events come first, then the hidden ones; placeholders are filled afresh, and in
    a sequential run every event is sent at least once. A function with provisioned
    concurrency on its alias `live` is invoked through the alias.

    Runs again (up to ATTEMPTS) while the platform, not the function, made it fail; answers
    "not judged" when it never got a fair run. A run through an event source is judged once
    (its late deliveries would mix with a second run's)."""
    for attempt in range(1, ATTEMPTS + 1):
        outcome, invocations, problems = await _run_once(
            function, events, run, checks, hidden_events, buckets, grants
        )
        if outcome.passed:
            return outcome, invocations
        # A time check, or a handler timing out, may be the busy host's doing: run once more.
        slow = outcome.timed_failure or any(i.status == "timeout" for i in invocations)
        again = problems or (slow and attempt < TIMED_ATTEMPTS)
        if not again or attempt == ATTEMPTS or run.get("via"):
            break
        await asyncio.sleep(RETRY_PAUSE_S[attempt - 1] if problems else TIMED_PAUSE_S)
    if problems:
        return not_judged(problems), invocations
    return outcome, invocations  # a fair run (a time check failing twice is one): the verdict


async def _run_once(function, events, run, checks, hidden_events, buckets, grants):
    """One run of the step: (Outcome, invocations, what the platform did to it)."""
    checks, problem = await sync_to_async(tuned_memory_checks)(function, checks)
    problem = problem or await sync_to_async(layer_problem)(function, checks)
    if problem:
        return Outcome(passed=False, failures=[problem], summary=problem), [], []
    qualifier, provisioned = await sync_to_async(_provisioned_alias)(function)
    qualifier = run.get("qualifier") or qualifier
    try:
        await sync_to_async(versions.check_qualifier)(function, qualifier)
    except versions.VersionsError as exc:
        return missing_qualifier(qualifier, exc), [], []
    await configure_function(function)
    platform = []
    if provisioned:
        ready = await _wait_provisioned(function, *provisioned)
        if not ready and not await _provisioned_failed(function, provisioned[0]):
            platform.append("The server had no room to start your provisioned environments in time.")
    elif run.get("fresh", True):
        await reset_environments(function)
    names = await sync_to_async(prepare_buckets)(function, buckets, grants) if buckets else {}
    events = [with_buckets(fill(resolve_event(e)), names) for e in [*events, *hidden_events]] or [{}]
    if run.get("via"):
        # Through the real event source (S3 notification, SQS poller, async retries): allow the
        # retries' delays on top of the function's own time.
        timeout = function.timeout_s * 4 + sum(retry_delays()) + 30
        invocations = await run_via(function, run["via"], events, timeout)
        outcome = await sync_to_async(evaluate)(checks, invocations)
        return outcome, invocations, platform + platform_interference(checks, invocations)
    concurrent = run.get("concurrent", 1)
    if concurrent > 1:
        invocations = await asyncio.gather(
            *[_one(function, events[i % len(events)], qualifier) for i in range(concurrent)]
        )
    else:
        invocations = []
        for i in range(max(run.get("times", 1), len(events))):
            invocations.append(await _one(function, events[i % len(events)], qualifier))
    invocations = list(invocations)
    # In a thread: a computed expectation may read the database (a lesson bucket's object).
    outcome = await sync_to_async(evaluate)(checks, invocations)
    return outcome, invocations, platform + platform_interference(checks, invocations)
