"""Check semantics that keep a copying student from passing: values taken from each
invocation's own event, the handler's own output apart from platform lines, memory from the
record, throttles of the check's own batch only, and staged hints."""

import json
from types import SimpleNamespace

import pytest

from lessons.checks import CheckSpecError, evaluate, fill_event, handler_output, validate_check
from lessons.expected import sha256_rounds
from lessons.models import Step

REPORT = "REPORT RequestId: 1\tDuration: 1.00 ms\tMemory Size: 256 MB\tMax Memory Used: 9 MB"


def invocation(event=None, result=None, logs="", status="ok", **fields):
    defaults = {
        "cold": False, "init_duration_ms": None, "memory_size_mb": 128, "max_memory_used_mb": 9,
        "duration_ms": 1.0, "gb_seconds": 0.0, "error": None, "provisioned": False, "function_id": None,
    }  # fmt: skip
    defaults.update(fields)
    return SimpleNamespace(event=json.dumps(event or {}), result=result, logs=logs, status=status, **defaults)


def test_a_check_value_can_name_the_invocations_own_event():
    checks = [{"body_contains": "Hello, {event.name}!"}]
    ada = invocation({"name": "Ada"}, {"statusCode": 200, "body": "Hello, Ada!"})
    grace = invocation({"name": "Grace"}, {"statusCode": 200, "body": "Hello, Ada!"})
    assert evaluate(checks, [ada]).passed
    outcome = evaluate(checks, [ada, grace])
    assert not outcome.passed and "without 'Hello, Grace!'" in outcome.summary


def test_json_path_compares_with_a_typed_value_from_the_event():
    checks = [{"json_path": {"path": "total", "equals": "{event.amount}"}}]
    assert evaluate(checks, [invocation({"amount": 12.5}, {"total": 12.5})]).passed
    assert not evaluate(checks, [invocation({"amount": 12.5}, {"total": "12.5"})]).passed


def test_fill_event_keeps_text_and_replaces_references():
    assert fill_event("id-{event.order.id}", {"order": {"id": 7}}) == "id-7"
    assert fill_event("{event.items}", {"items": [1, 2]}) == [1, 2]
    assert fill_event("no reference", {}) == "no reference"


def test_output_matches_ignores_platform_lines_a_print_cannot_fake_memory():
    logs = "START RequestId: 1 Version: $LATEST\nMemory Size: 256 MB\nEND RequestId: 1\n" + REPORT
    assert "Memory Size: 256 MB" in handler_output(logs) and "REPORT" not in handler_output(logs)
    printed = invocation(logs="START RequestId: 1 Version: $LATEST\nREPORT RequestId: 9\tMemory Size: 256 MB")
    assert not evaluate([{"output_matches": "REPORT RequestId"}], [printed]).passed
    assert not evaluate([{"memory_size": 256}], [printed]).passed
    assert evaluate([{"memory_size": 256}], [invocation(memory_size_mb=256)]).passed


def throttled(reason="ReservedFunctionConcurrentInvocationLimitExceeded"):
    return invocation(status="throttled", error={"errorType": "TooManyRequestsException", "Reason": reason})


def test_throttles_count_only_the_checks_own_batch():
    ran = [invocation(), invocation()]
    assert not evaluate([{"throttles_at_least": 1}], ran).passed
    assert evaluate([{"throttles_at_least": 1}], [*ran, throttled()]).passed


@pytest.mark.parametrize(
    "reason",
    ["LearnerConcurrencyQuotaExceeded", "HostEnvironmentCapReached", "ConcurrentInvocationLimitExceeded"],
)
def test_a_busy_server_s_throttle_is_not_the_function_s_own(reason):
    """A starter with no reserved concurrency, throttled because the class filled the server."""
    assert not evaluate([{"throttles_at_least": 1}], [invocation(), throttled(reason)]).passed


def test_hints_come_in_stages_and_the_code_only_from_the_third_failure():
    step = Step(hints=["a nudge", "the concept", "the code"])
    assert [step.hint_after(n) for n in range(5)] == ["", "a nudge", "the concept", "the code", "the code"]
    assert Step(hints=["only one"]).hint_after(3) == "only one"
    assert Step(hints=[]).hint_after(2) == ""


def test_a_function_that_throttles_everything_does_not_pass_a_throttle_step():
    four = [throttled() for _ in range(4)]
    checks = [{"throttles_at_least": 1}, {"ran_at_least": 1}]
    outcome = evaluate(checks, four)
    assert not outcome.passed and "Only 0 of the 4 requests ran" in outcome.summary
    assert evaluate(checks, [invocation(), *four[:3]]).passed


def test_a_computed_expectation_follows_the_invocations_own_event():
    computed = {"computed": "sha256_rounds", "args": {"rounds": "{event.n}"}}
    check = {"json_path": {"path": "digest", "equals": computed}}
    right = invocation({"n": 1000}, {"digest": sha256_rounds(1000)})
    lazy = invocation({"n": 1000}, {"digest": sha256_rounds(100)})
    assert evaluate([check], [right]).passed
    outcome = evaluate([check], [lazy])
    assert not outcome.passed and sha256_rounds(1000) in outcome.summary


def test_a_lesson_file_cannot_name_a_function_outside_the_registry():
    with pytest.raises(CheckSpecError, match="unknown computed value 'eval'"):
        validate_check({"json_path": {"path": "x", "equals": {"computed": "eval", "args": {}}}}, {})


def test_any_passes_when_one_invocation_holds_and_says_so_when_none_does():
    check = [{"output_matches": "^order 7$", "invocation": "any"}]
    assert evaluate(check, [invocation(logs="order 3"), invocation(logs="order 7")]).passed
    outcome = evaluate(check, [invocation(logs="order 3"), invocation(logs="order 4")])
    assert not outcome.passed and outcome.summary.startswith("None of the 2 invocations passed")


def test_batch_counts_and_reported_failures():
    batch = [invocation(result={"batchItemFailures": [{"itemIdentifier": "m"}]}), invocation(result={})]
    assert evaluate([{"invocations": 2}, {"invocations_at_least": 2}], batch).passed
    assert not evaluate([{"invocations": 3}], batch).passed
    assert evaluate([{"failures_reported": 1, "invocation": 1}], batch).passed
    assert not evaluate([{"failures_reported": 1}], batch).passed
