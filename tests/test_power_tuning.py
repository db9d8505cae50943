"""Power tuning's arithmetic (sandbox/web/power_tuning.py): trimmed means, the cost of one
invocation from billed duration and memory, one size's result, and which size is the cheapest and
which the fastest (with the AWS tool's tie-breaks)."""

import pytest

from sandbox.engine.rules.billing import Prices
from sandbox.web.power_tuning import (
    cheapest,
    cost_per_invocation,
    fastest,
    summarise_size,
    trimmed_mean,
)

PRICES = Prices()  # us-east-1 x86_64: $0.0000166667 per GB-s, $0.20 per million requests


def sample(duration_ms, status="ok", billed=None, init=None, error=None):
    return {
        "status": status,
        "duration_ms": duration_ms,
        "billed_duration_ms": billed if billed is not None else int(duration_ms) + 1,
        "init_duration_ms": init,
        "error": error,
    }


def result(memory_mb, duration_ms, cost_usd, error=None, invocations=5):
    return {"memory_mb": memory_mb, "invocations": invocations, "duration_ms": duration_ms,
            "cost_usd": cost_usd, "error": error}  # fmt: skip


# ------------------------------------------------------------------------------ means and cost


def test_the_trimmed_mean_leaves_out_the_fastest_and_slowest_fifth():
    assert trimmed_mean(list(range(1, 11))) == 5.5  # 1, 2 and 9, 10 left out
    assert trimmed_mean([1000, 10, 10, 10, 10]) == 10  # one of five: the cold start goes
    assert trimmed_mean([3, 1, 2]) == 2  # fewer than five: nothing to leave out
    assert trimmed_mean([7]) == 7
    assert trimmed_mean([]) is None


def test_the_cost_of_one_invocation_is_billed_gb_seconds_plus_the_request():
    # 128 MB for 100 ms: 0.0125 GB-s.
    assert cost_per_invocation(128, 100, PRICES) == pytest.approx(0.0125 * 0.0000166667 + 0.2e-6)
    # 1 GB for 100 ms: 0.1 GB-s; and twice the memory for half the time costs the same.
    assert cost_per_invocation(1024, 100, PRICES) == pytest.approx(0.1 * 0.0000166667 + 0.2e-6)
    assert cost_per_invocation(2048, 50, PRICES) == pytest.approx(cost_per_invocation(1024, 100, PRICES))
    assert cost_per_invocation(3008, 1, PRICES) > cost_per_invocation(128, 1, PRICES)


# ------------------------------------------------------------------------------ one size


def test_a_size_sums_up_its_invocations_with_trimmed_means():
    samples = [sample(180.0, billed=331, init=150.0)] + [sample(d) for d in (20.0, 21.0, 22.0, 23.0)]
    samples.append(sample(0.0, status="throttled", billed=0))
    size = summarise_size(256, samples, PRICES)
    assert size["memory_mb"] == 256
    assert size["invocations"] == 5 and size["throttles"] == 1
    assert size["duration_ms"] == 22.0  # 20 and 180 left out
    assert size["billed_duration_ms"] == 23.0  # of 21, 22, 23, 24, 331: 21 and 331 left out
    assert size["init_duration_ms"] == 150.0
    assert size["cost_usd"] == pytest.approx(cost_per_invocation(256, 23.0, PRICES))
    assert size["error"] is None


def test_an_error_is_the_sizes_result():
    error = {"errorType": "Runtime.OutOfMemory", "errorMessage": "Runtime exited with error: signal: killed"}
    size = summarise_size(128, [sample(10.0), sample(90.0, status="oom", error=error)], PRICES)
    assert size["error"] == {"status": "oom", "type": "Runtime.OutOfMemory",
                             "message": "Runtime exited with error: signal: killed"}  # fmt: skip
    assert size["invocations"] == 2


def test_a_size_with_nothing_run_has_no_figures():
    size = summarise_size(512, [sample(0.0, status="throttled", billed=0)], PRICES)
    assert (size["invocations"], size["duration_ms"], size["cost_usd"]) == (0, None, None)


# ------------------------------------------------------------------------------ the marks


def test_cheapest_and_fastest_are_found():
    results = [result(128, 400.0, 9e-7), result(512, 100.0, 8e-7), result(1024, 60.0, 1.2e-6)]
    assert cheapest(results) == 512
    assert fastest(results) == 1024


def test_ties_go_to_the_faster_and_to_the_cheaper_as_the_aws_tool_does():
    results = [result(128, 200.0, 5e-7), result(256, 100.0, 5e-7), result(1024, 50.0, 2e-6),
               result(2048, 50.0, 3e-6)]  # fmt: skip
    assert cheapest(results) == 256  # equal cost: the faster
    assert fastest(results) == 1024  # equal speed: the cheaper


def test_a_size_that_failed_or_ran_nothing_is_never_marked():
    oom = {"status": "oom", "type": "Runtime.OutOfMemory", "message": ""}
    results = [result(128, 10.0, 1e-9, error=oom), result(256, 20.0, 2e-7),
               result(512, None, None, invocations=0)]  # fmt: skip
    assert cheapest(results) == 256 and fastest(results) == 256
    assert cheapest([result(128, 10.0, 1e-9, error=oom)]) is None
    assert fastest([]) is None
