"""What a step's verification runs: the reference solution (must pass), the starter and the
author's cheats (must fail), and, in authoring preview, trivial cheats made from what the
lesson text shows (each should fail: one that passes means the check only looks at shapes)."""

import json
import re
from dataclasses import dataclass

from asgiref.sync import sync_to_async

from lessons.runner import new_function, run_step

MAX_GENERATED = 12
CODE_SPAN = re.compile(r"`([^`\n]{1,200})`")
QUOTED = re.compile(r'"([^"\n]{1,120})"')
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)


@dataclass
class Candidate:
    label: str  # "solution", "starter", "cheat hardcoded.py", "generated: returns 'Hello, Ada!'"
    code: str
    expect_pass: bool
    use_solution_config: bool = False


def candidates(step, generated=False):
    """Every handler to run for `step` (a loader StepData), with what its check should say."""
    found = [
        Candidate("solution", step.solution_code, True, use_solution_config=True),
        Candidate("starter", step.starter_code, False),
    ]
    found += [Candidate(f"cheat {name}", code, False) for name, code in step.cheats.items()]
    if generated:
        found += [Candidate(f"generated: {label}", code, False) for label, code in trivial_cheats(step)]
    return found


def trivial_cheats(step):
    """(label, code) of handlers a student who only copies the text might write."""
    handler = step.handler
    cheats = [
        ("an empty handler", f"def {handler}(event, context):\n    return None\n"),
        ("raises always", f"def {handler}(event, context):\n    raise ValueError('always')\n"),
    ]
    for value in shown_literals(step.body_md)[: MAX_GENERATED - len(cheats)]:
        text = json.dumps(value)
        cheats.append((f"returns {_short(text)}", _returning(handler, value)))
        if isinstance(value, str):
            response = {"statusCode": 200, "body": value}
            cheats.append((f"answers 200 with body {_short(text)}", _returning(handler, response)))
    return cheats[:MAX_GENERATED]


def _returning(handler, value):
    return f"import json\n\ndef {handler}(event, context):\n    return json.loads({json.dumps(value)!r})\n"


def shown_literals(markdown):
    """JSON values and strings the lesson text shows: code spans, quoted text, JSON lines in
    code blocks (what a copying student would return)."""
    pieces = CODE_SPAN.findall(markdown) + QUOTED.findall(markdown)
    for block in FENCE.findall(markdown):
        pieces += [line.strip() for line in block.splitlines() if line.strip().startswith(("{", "["))]
    values = []
    for piece in pieces:
        try:
            value = json.loads(piece)
        except ValueError:
            value = piece
        shown = isinstance(value, (dict, list)) or (isinstance(value, str) and not _looks_like_code(value))
        if shown and value not in values:
            values.append(value)
    return values


def _looks_like_code(text):
    return bool(re.search(r"[()=\[\]]|^\w+\.\w+$|^(import|def|return|print)\b", text))


def _short(text, limit=40):
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def run_candidate(owner, name, step, candidate):
    """Run one candidate handler of a step on a new function of `owner`: the check's Outcome."""
    config = dict(step.function_config)
    if candidate.use_solution_config:
        config.update(step.solution_config)
    function = await sync_to_async(new_function)(
        owner, f"{name}-{candidate.label}"[:64], candidate.code, step.handler, config
    )
    if config.get("deploy"):
        await sync_to_async(replay_deploy)(function, step, config["deploy"])
        for item in config["deploy"]:
            if "tune" in item:
                await run_sweep(function, item["tune"])
    outcome, _ = await run_step(
        function,
        step.events,
        step.run,
        step.checks,
        step.hidden_events,
        step.buckets,
        config.get("grants", ()),
    )
    return outcome


def replay_deploy(function, step, deploy):
    """Publish and point aliases as the step expects the learner to (the reference solution's
    run): each {publish: starter|solution} publishes that code, each {alias: ...} sets one."""
    from sandbox import versions

    for item in deploy:
        if "tune" in item:
            continue  # run_sweep, after the function exists (asynchronous)
        if "memory" in item:
            function.memory_mb = item["memory"]
            function.save(update_fields=["memory_mb"])
        elif "publish" in item:
            function.code = step.solution_code if item["publish"] == "solution" else step.starter_code
            function.save(update_fields=["code"])
            versions.publish(function)
        else:
            alias = item["alias"]
            weights = {str(k): float(v) for k, v in (alias.get("weights") or {}).items()}
            routing = {"additional_version_weights": weights} if weights else None
            versions.put_alias(function, alias["name"], str(alias["version"]), routing)
    function.code = step.solution_code  # $LATEST is the solution, as the learner's editor would be
    function.save(update_fields=["code"])


async def run_sweep(function, tune, timeout_s=180):
    """A real power-tuning run of `function` (as the learner would start one), waited for; then
    the function's memory is set to the size the sweep found cheapest."""
    import asyncio

    from sandbox.models import PowerTuning
    from sandbox.web.tuning_runs import create_run, run_report
    from sandbox.worker import start_power_tuning

    run = await sync_to_async(create_run)(function, tune["sizes"], tune.get("per_size", 5), "{}")
    await start_power_tuning(run)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        await run.arefresh_from_db()
        if run.status != PowerTuning.RUNNING:
            break
        await asyncio.sleep(0.2)
    report = await sync_to_async(run_report)(run)
    if report["cheapest"]:
        function.memory_mb = report["cheapest"]
        await function.asave(update_fields=["memory_mb"])
