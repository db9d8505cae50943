"""Declarative step checks, run on real invocations of the learner's function.

A check is a YAML mapping with one kind key, e.g. `- status_code: 200`, plus optional
`invocation` (1, 2, ..., "last", "all" or "any"; default "all") and `message` (the author's own
failure text). `evaluate` is pure: it reads saved Invocation rows and never runs code.

Checks judge the work, not its shape: a text value may name the invocation's own event, e.g.
`body_contains: "Hello, {event.name}!"` (and `{request_id}`, the invocation's own). The events
vary from run to run (placeholders, see lessons/events.py) and a step's hidden events are never
shown to the learner, so returning what the lesson text shows does not pass. `output_matches`
looks only at what the handler wrote, never at the platform's START/END/REPORT lines.
"""

import json
import math
import re
from dataclasses import dataclass, field

from lessons import expected
from sandbox.engine import pool

PER_INVOCATION = {
    "status",
    "status_code",
    "body_contains",
    "json_path",
    "cold",
    "init_duration",
    "max_memory_under",
    "duration_under",
    "error_type",
    "partial_batch_failures",
    "failures_reported",
    "log_matches",
    "log_absent",
    "output_matches",
    "output_absent",
    "memory_size",
    "executed_version",
    "memory_from_tuning",
    "layer_attached",
    "layer_detached",
    "init_duration_under",
    "provisioned",
}
BATCH = {
    "gb_seconds_under", "throttles_at_least", "ran_at_least", "invocations", "invocations_at_least",
    "versions_seen",
}  # fmt: skip
EVENT_REFERENCE = re.compile(r"\{event((?:\.[A-Za-z0-9_-]+)*)\}")
# Lines the platform writes around the handler's output (a learner's print cannot pass for one).
PLATFORM_LINE = re.compile(
    r"^(START RequestId: |END RequestId: |REPORT RequestId: |INIT_REPORT |\[coldstart\] |"
    r"\S+Z \S+ Task timed out after |RequestId: \S+ Error: |Runtime exited with error)"
)
CHECK_KINDS = PER_INVOCATION | BATCH
# Checks that measure time: a busy host can slow a correct handler down, so Check runs again
# before it says these fail.
TIMED = {"duration_under", "init_duration_under", "gb_seconds_under"}
OPTIONS = {"invocation", "message"}


class CheckSpecError(ValueError):
    pass


def kind_of(spec):
    kinds = [k for k in spec if k in CHECK_KINDS]
    return kinds[0] if len(kinds) == 1 else None


def validate_check(spec, run, events=1):
    if not isinstance(spec, dict):
        raise CheckSpecError("a check is a mapping such as 'status_code: 200'")
    kinds = [k for k in spec if k in CHECK_KINDS]
    unknown = [k for k in spec if k not in CHECK_KINDS and k not in OPTIONS]
    if unknown:
        raise CheckSpecError(f"unknown check '{unknown[0]}' (known: {', '.join(sorted(CHECK_KINDS))})")
    if len(kinds) != 1:
        raise CheckSpecError("each check names exactly one kind (status_code, json_path, log_matches, ...)")
    kind, value = kinds[0], spec[kinds[0]]
    # A sequential run sends every event at least once (lessons/runner.py).
    count = max(run.get("times", 1), run.get("concurrent", 1), events if run.get("concurrent", 1) == 1 else 1)
    which = spec.get("invocation", "all")
    if which not in ("all", "any", "last") and not (isinstance(which, int) and 1 <= which <= count):
        raise CheckSpecError(f"'invocation' must be 'all', 'any', 'last' or 1..{count}")
    if "message" in spec and not isinstance(spec["message"], str):
        raise CheckSpecError("'message' must be text")
    expect = {
        "status": str,
        "status_code": int,
        "body_contains": str,
        "cold": bool,
        "max_memory_under": (int, float),
        "duration_under": (int, float),
        "error_type": str,
        "provisioned": bool,
        "gb_seconds_under": (int, float),
        "throttles_at_least": int,
        "ran_at_least": int,
        "invocations": int,
        "invocations_at_least": int,
        "failures_reported": int,
        "partial_batch_failures": list,
        "memory_size": int,
        "executed_version": str,
        "layer_attached": str,
        "layer_detached": str,
        "init_duration_under": (int, float),
        "versions_seen": dict,
    }
    if kind in expect and (
        not isinstance(value, expect[kind])
        or (isinstance(value, bool) and kind != "cold" and kind != "provisioned")
    ):
        raise CheckSpecError(f"'{kind}' needs a {getattr(expect[kind], '__name__', 'number')} value")
    if kind == "memory_from_tuning" and value not in ("cheapest", "fastest"):
        raise CheckSpecError("'memory_from_tuning' is 'cheapest' or 'fastest'")
    if kind == "init_duration" and value not in ("present", "absent"):
        raise CheckSpecError("'init_duration' is 'present' or 'absent'")
    if kind == "json_path" and (not isinstance(value, dict) or "path" not in value or "equals" not in value):
        raise CheckSpecError("'json_path' needs {path: body.x, equals: value} (and optional 'tolerance')")
    if kind == "json_path" and isinstance(value["equals"], dict) and "computed" in value["equals"]:
        name = value["equals"]["computed"]
        if name not in expected.REGISTRY:
            known = ", ".join(sorted(expected.REGISTRY))
            raise CheckSpecError(f"unknown computed value '{name}' (known: {known})")
    if kind in ("log_matches", "log_absent", "output_matches", "output_absent"):
        if not isinstance(value, str):
            raise CheckSpecError(f"'{kind}' needs a regular expression")
        try:
            re.compile(value)
        except re.error as exc:
            raise CheckSpecError(f"bad regular expression: {exc}") from None


@dataclass
class Outcome:
    passed: bool
    failures: list = field(default_factory=list)
    summary: str = ""
    judged: bool = True  # False: the platform got in the way, the code was not judged
    detail: str = ""  # what the platform did, when not judged
    timed_failure: bool = False  # a failing check measured time (worth running again)


BUSY = "The server is busy — your code was not judged."
ORDINALS = {1: "first", 2: "second", 3: "third"}
# What a platform throttle means, in the learner's words.
PLATFORM_THROTTLES = {
    pool.ACCOUNT_LIMIT: "every concurrent execution of the server was in use",
    pool.HOST_CAP: "the server's cap of live execution environments was reached",
    pool.HOST_MEMORY: "the server's memory for execution environments was in use",
    pool.LEARNER_CONCURRENCY: "your other invocations (a load test?) filled your share",
    pool.LEARNER_RATE: "your invocations this minute filled your share",
    pool.LEARNER_MEMORY: "your other live environments filled your memory share",
}


def _ordinal(n):
    return ORDINALS.get(n, f"#{n}")


def _who(numbers, total):
    """Who it happened to: "Your invocation", "The second invocation", "Both invocations"..."""
    if total == 1:
        return "Your invocation"
    if len(numbers) == 1:
        return f"The {_ordinal(numbers[0])} invocation"
    if len(numbers) == total:
        return "Both invocations" if total == 2 else f"All {total} invocations"
    names = [_ordinal(n) for n in numbers]
    return f"The {', '.join(names[:-1])} and {names[-1]} invocations"


def platform_interference(checks, invocations):
    """What the platform, not the learner's function, did to this run: sentences, empty when
    nothing. A throttle for capacity (not the function's reserved concurrency or scaling rate),
    a lost worker, an invocation that never finished, or a cold start where the environment
    should have been warm (the previous invocation left it ready, so the platform took it).
    Invocations that met the same thing share one sentence."""
    found = {}  # (what one met, what several met) -> invocation numbers

    def met(n, one, several):
        found.setdefault((one, several), []).append(n)

    total = len(invocations)
    for n, inv in enumerate(invocations, 1):
        reason = (inv.error or {}).get("Reason", "")
        if inv.status == "throttled" and reason in pool.PLATFORM_REASONS:
            why = PLATFORM_THROTTLES[reason]
            met(n, f"was throttled before it ran: {why}.", f"were throttled before they ran: {why}.")
        elif inv.status == "failed":
            lost = (inv.failure_reason or "the sandbox worker failed").rstrip(".")
            met(n, f"was lost by the server: {lost}.", f"were lost by the server: {lost}.")
        elif inv.status in ("queued", "running"):
            late = "did not finish in time: the server is overloaded."
            met(n, late, late)
    expects_warm = {
        spec.get("invocation", "all")
        for spec in checks
        if spec.get("cold") is False or spec.get("init_duration") == "absent"
    }
    for n, inv in enumerate(invocations[1:], 2):
        wanted = n in expects_warm or "all" in expects_warm or (n == total and "last" in expects_warm)
        previous = invocations[n - 2]
        if wanted and inv.cold and previous.status in ("ok", "error"):
            taken = (
                "found no warm environment: the server reclaimed the one left ready (other learners' load)."
            )
            met(n, taken, taken)
    return [
        f"{_who(numbers, total)} {one if len(numbers) == 1 else several}"
        for (one, several), numbers in found.items()
    ]


def not_judged(problems):
    """The Outcome when the platform got in the way on every try: no verdict, no hint."""
    detail = " ".join(problems[:2]) + " Press Check again in a moment."
    return Outcome(passed=False, judged=False, summary=f"{BUSY} {detail}", detail=detail)


def _pick(spec, invocations):
    ran = invocations
    which = spec.get("invocation", "all")
    if which in ("all", "any"):
        return list(enumerate(ran, 1))
    if which == "last":
        return [(len(ran), ran[-1])] if ran else []
    return [(which, ran[which - 1])] if len(ran) >= which else []


def _label(n, total):
    if total == 1:
        return "Your invocation"
    return {1: "The first invocation", 2: "The second invocation", 3: "The third invocation"}.get(
        n, f"Invocation {n}"
    )


def _body(result):
    if isinstance(result, dict) and "body" in result:
        body = result["body"]
        return body if isinstance(body, str) else json.dumps(body)
    return json.dumps(result)


def json_get(value, path):
    """Follow 'body.items.0.name' through dicts, lists and JSON-encoded strings (an HTTP body)."""
    parts = [p for p in str(path).split(".") if p not in ("", "$", "result")]
    for part in parts:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise KeyError(part) from None
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(part)
    return value


def _equal(got, want, tolerance):
    if tolerance is not None and isinstance(got, (int, float)) and isinstance(want, (int, float)):
        return math.isclose(got, want, abs_tol=tolerance)
    return got == want


def _short(value, limit=120):
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _errored(inv):
    """A kind sentence when the invocation did not return a result at all, else None."""
    if inv.status == "ok":
        return None
    if inv.status == "throttled":
        return "was throttled (429 TooManyRequestsException) before your code ran"
    if inv.status == "timeout":
        return f"timed out after {inv.function.timeout_s if inv.function_id else '?'} s"
    if inv.status == "oom":
        return "ran out of memory (Runtime.OutOfMemory)"
    error = inv.error or {}
    kind = error.get("errorType", inv.status)
    message = error.get("errorMessage", inv.failure_reason)
    return f"failed with {kind}: {message}".rstrip(": ")


def handler_output(logs):
    """The lines the handler itself wrote: the logs without the platform's lines."""
    return "\n".join(line for line in (logs or "").splitlines() if not PLATFORM_LINE.match(line))


def fill_event(value, event):
    """`value` with each {event.path} replaced by that part of the invocation's event (text,
    or a whole value when the string is nothing but the reference). KeyError if missing."""
    if not isinstance(value, str) or "{event" not in value:
        return value
    whole = EVENT_REFERENCE.fullmatch(value)
    if whole:
        return json_get(event, whole.group(1)) if whole.group(1) else event
    return EVENT_REFERENCE.sub(lambda m: _text(json_get(event, m.group(1)) if m.group(1) else event), value)


def _text(value):
    return value if isinstance(value, str) else json.dumps(value)


def _event_of(inv):
    try:
        return json.loads(inv.event) if isinstance(inv.event, str) else inv.event
    except ValueError:
        return None


def _check_one(kind, value, spec, n, total, inv):
    """None when the check holds for this invocation, else a specific, kind sentence."""
    who = _label(n, total)
    if isinstance(value, str) and "{request_id}" in value:
        value = value.replace("{request_id}", str(getattr(inv, "request_id", "")))
    if kind != "json_path":
        try:
            value = fill_event(value, _event_of(inv))
        except KeyError as exc:
            return f"The check refers to event.{exc.args[0]}, which {who.lower()}'s event does not have."
    needs_result = kind in (
        "status_code", "body_contains", "json_path", "partial_batch_failures", "failures_reported"
    )  # fmt: skip
    if needs_result and (problem := _errored(inv)):
        return f"{who} {problem}, so there was no response to look at. The Logs pane shows what happened."
    if kind == "status":
        if inv.status != value:
            extra = f" ({_errored(inv)})" if inv.status != "ok" else ""
            return f"{who} ended with status '{inv.status}'{extra}; this step expects '{value}'."
    elif kind == "status_code":
        result = inv.result
        got = result.get("statusCode") if isinstance(result, dict) else None
        if got is None:
            return (
                f"{who} returned no statusCode. An HTTP trigger needs a response like "
                f'{{"statusCode": {value}, "body": "..."}}.'
            )
        if got != value:
            return f"{who} returned statusCode {got}; this step expects {value}."
    elif kind == "body_contains":
        body = _body(inv.result)
        if value not in body:
            return f"{who} returned a body without {value!r}. It was: {_short(body)}"
    elif kind == "json_path":
        path = value["path"]
        event = _event_of(inv)
        try:
            want = value["equals"]
            if isinstance(want, dict) and "computed" in want:
                want = expected.compute(want, lambda v: fill_event(v, event))
            else:
                want = fill_event(want, event)
        except KeyError as exc:
            return f"The check refers to event.{exc.args[0]}, which {who.lower()}'s event does not have."
        except (TypeError, ValueError) as exc:
            return f"The check could not work out the expected answer for {who.lower()}'s event: {exc}."
        try:
            got = json_get(inv.result, path)
        except KeyError as exc:
            return (
                f"{who} returned no '{path}' (could not find '{exc.args[0]}'). "
                f"The response was {_short(inv.result)}"
            )
        if not _equal(got, want, value.get("tolerance")):
            return f"{who} returned {path} = {_short(got)}; this step expects {_short(want)}."
    elif kind == "cold":
        if inv.status == "throttled":
            return f"{who} was throttled, so it was neither cold nor warm."
        if inv.cold != value:
            got = (
                "a cold start (a new environment ran Init)" if inv.cold else "warm (it reused an environment)"
            )
            return f"{who} was {got}; this step expects it {'cold' if value else 'warm'}."
    elif kind == "init_duration":
        present = inv.init_duration_ms is not None
        if present != (value == "present"):
            if present:
                return (
                    f"{who}'s REPORT line has Init Duration: {inv.init_duration_ms:.2f} ms; "
                    "this step expects none."
                )
            return f"{who}'s REPORT line has no Init Duration: the environment was already warm."
    elif kind == "max_memory_under":
        if inv.max_memory_used_mb >= value:
            return (
                f"{who} used {inv.max_memory_used_mb} MB at its peak (Max Memory Used); "
                f"keep it under {value} MB."
            )
    elif kind == "duration_under":
        if inv.status == "throttled" or inv.duration_ms >= value:
            return f"{who} took {inv.duration_ms:.2f} ms (Duration); this step needs it under {value} ms."
    elif kind == "error_type":
        got = (inv.error or {}).get("errorType")
        if got != value:
            if got is None:
                return f"{who} succeeded, but this step expects it to fail with errorType {value}."
            return f"{who} failed with errorType {got}; this step expects {value}."
    elif kind == "partial_batch_failures":
        result = inv.result if isinstance(inv.result, dict) else {}
        items = result.get("batchItemFailures")
        if not isinstance(items, list):
            return (
                f"{who} returned no batchItemFailures list, so SQS would treat the whole batch as "
                'processed. Return {"batchItemFailures": [{"itemIdentifier": messageId}, ...]}.'
            )
        got = sorted(str(i.get("itemIdentifier")) for i in items if isinstance(i, dict))
        want = sorted(str(v) for v in value)
        if got != want:
            return f"{who} reported failed messages {got}; this step expects exactly {want}."
    elif kind == "log_matches":
        if not re.search(value, inv.logs or "", re.MULTILINE):
            return f"{who}'s logs have no line matching /{value}/."
    elif kind == "log_absent":
        match = re.search(value, inv.logs or "", re.MULTILINE)
        if match:
            return f"{who}'s logs contain {match.group(0)!r}, which this step expects not to see."
    elif kind == "failures_reported":
        items = (inv.result if isinstance(inv.result, dict) else {}).get("batchItemFailures")
        got = len(items) if isinstance(items, list) else 0
        if got != value:
            return f"{who} reported {got} failed message(s) in batchItemFailures; this step expects {value}."
    elif kind == "output_matches":
        if not re.search(value, handler_output(inv.logs), re.MULTILINE):
            return f"{who}'s own output (what your code printed or logged) has no line matching /{value}/."
    elif kind == "output_absent":
        match = re.search(value, handler_output(inv.logs), re.MULTILINE)
        if match:
            return f"{who}'s output contains {match.group(0)!r}, which this step expects not to see."
    elif kind == "init_duration_under":
        if inv.init_duration_ms is not None and inv.init_duration_ms >= value:
            return (
                f"{who}'s Init Duration was {inv.init_duration_ms:.2f} ms; this step needs a cold start "
                f"under {value} ms."
            )
    elif kind in ("layer_attached", "layer_detached"):
        return None  # about the function, not an invocation: lessons/runner.py checks it
    elif kind == "executed_version":
        got = getattr(inv, "executed_version", "$LATEST")
        if got != str(value):
            return f"{who} ran version {got}; this step expects version {value}."
    elif kind == "memory_size":
        if inv.memory_size_mb != value:
            return f"{who} ran with Memory Size {inv.memory_size_mb} MB; this step expects {value} MB."
    elif kind == "provisioned" and inv.provisioned != value:
        got = "a provisioned" if inv.provisioned else "an on-demand"
        wanted = "provisioned" if value else "on-demand"
        return f"{who} ran in {got} environment; this step expects {wanted}."
    return None


def evaluate(checks, invocations):
    """Outcome of `checks` over the batch `invocations` (saved rows, in the order sent)."""
    failures = []
    timed = False
    total = len(invocations)
    for spec in checks:
        kind = kind_of(spec)
        value = spec[kind]
        problem = None
        if kind == "gb_seconds_under":
            used = sum(i.gb_seconds for i in invocations)
            if used >= value:
                problem = f"The batch billed {used:.6f} GB-s; this step's budget is under {value} GB-s."
        elif kind == "invocations":
            if total != value:
                times = f"{total} time{'s' if total != 1 else ''}"
                problem = f"The function was invoked {times}; this step expects {value}."
        elif kind == "versions_seen":
            # {version: [fewest, most]}: how many of the batch each version served (a canary's share).
            counts = {}
            for inv in invocations:
                version = getattr(inv, "executed_version", "$LATEST")
                counts[version] = counts.get(version, 0) + 1
            for version, (low, high) in value.items():
                got = counts.get(str(version), 0)
                if not low <= got <= high:
                    problem = (
                        f"Version {version} served {got} of the {total} requests; this step expects "
                        f"{low} to {high}. Served: "
                        + ", ".join(f"v{v}: {n}" for v, n in sorted(counts.items()))
                        + "."
                    )
                    break
            else:
                others = set(counts) - {str(v) for v in value}
                if others:
                    expected = ", ".join(map(str, value))
                    served = ", ".join(sorted(others))
                    problem = f"Versions {served} also served requests; expected only {expected}."
        elif kind == "invocations_at_least":
            if total < value:
                problem = f"The function was invoked {total} time(s); this step expects at least {value}."
        elif kind == "ran_at_least":
            ran = sum(1 for i in invocations if i.status == "ok")
            if ran < value:
                problem = (
                    f"Only {ran} of the {total} requests ran. This step expects at least {value} to run "
                    "(a function that throttles everything serves no one)."
                )
        elif kind == "throttles_at_least":
            # Only this check's own batch counts: throttles of an earlier load test prove nothing.
            # And only the function's own limits: a busy server (other learners, the host's cap)
            # throttles a function that has none, which would pass a starter.
            seen = sum(1 for i in invocations if i.status == "throttled" and _own_throttle(i))
            if seen < value:
                problem = (
                    f"No request was throttled ({total} sent at once, all ran). "
                    f"This step expects at least {value} throttle{'s' if value != 1 else ''}."
                )
        else:
            picked = _pick(spec, invocations)
            if not picked:
                problem = "There was no invocation to look at."
            for n, inv in picked:
                problem = _check_one(kind, value, spec, n, total, inv)
                # "any": one invocation that holds is enough (a trigger's order is not fixed).
                if (problem is None) == (spec.get("invocation") == "any"):
                    break
            if problem and spec.get("invocation") == "any" and total > 1:
                problem = f"None of the {total} invocations passed. The last one: {problem}"
        if problem:
            failures.append(f"{spec['message']}\n{problem}" if spec.get("message") else problem)
            timed = timed or kind in TIMED
    summary = "All checks pass." if not failures else failures[0]
    return Outcome(passed=not failures, failures=failures, summary=summary, timed_failure=timed)


def _own_throttle(invocation):
    """Throttled by the function's own reserved concurrency or scaling rate, not by a quota of
    the learner, the account or the host."""
    reason = (invocation.error or {}).get("Reason")
    return reason in (pool.RESERVED_LIMIT, pool.SCALING_LIMIT)
