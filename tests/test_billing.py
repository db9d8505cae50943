"""Lambda billing rules (docs/architecture.md §3), as pure functions."""

import pytest

from sandbox.engine.rules.billing import (
    ARM64_PER_GB_SECOND,
    Prices,
    billed_duration_ms,
    cost_usd,
    free_tier,
    gb_seconds,
)


@pytest.mark.parametrize(
    ("duration_ms", "billed"),
    [(15.74, 16), (15.01, 16), (16.0, 16), (0.2, 1), (999.999, 1000), (1000.0, 1000)],
)
def test_billed_duration_rounds_up_to_the_next_millisecond(duration_ms, billed):
    assert billed_duration_ms(duration_ms) == billed


def test_billed_duration_is_at_least_one_millisecond():
    assert billed_duration_ms(0.0) == 1


def test_billed_duration_ignores_float_noise_below_a_nanosecond():
    noisy = 0.1 * 3 * 10  # 3.0000000000000004
    assert noisy > 3
    assert billed_duration_ms(noisy) == 3
    assert billed_duration_ms(3.001) == 4


def test_a_cold_start_bills_init_plus_duration_under_the_current_rule():
    assert billed_duration_ms(15.74, 130.49, bill_init_phase=True) == 147


def test_a_cold_start_bills_only_the_duration_under_the_old_rule():
    assert billed_duration_ms(15.74, 130.49, bill_init_phase=False) == 16


def test_the_default_prices_follow_the_current_rule_of_billing_init():
    assert Prices().bill_init_phase is True
    assert billed_duration_ms(15.74, 130.49, Prices().bill_init_phase) == 147


def test_a_warm_invocation_bills_the_same_under_both_rules():
    assert billed_duration_ms(15.74, None, True) == billed_duration_ms(15.74, None, False) == 16


@pytest.mark.parametrize(
    ("memory_mb", "billed_ms", "expected"),
    [(128, 16, 0.002), (1024, 1000, 1.0), (1769, 100, 0.1727539), (10240, 900_000, 9000.0)],
)
def test_gb_seconds_is_memory_in_gb_times_billed_seconds(memory_mb, billed_ms, expected):
    assert gb_seconds(memory_mb, billed_ms) == pytest.approx(expected, rel=1e-6)


def test_cost_is_gb_seconds_at_the_compute_price_plus_the_request_price():
    prices = Prices()
    assert cost_usd(1.0, 0, prices) == pytest.approx(0.0000166667)
    assert cost_usd(0.0, 1_000_000, prices) == pytest.approx(0.20)
    # one million invocations of 1 s at 1 GB: 16.67 $ compute + 0.20 $ requests
    assert cost_usd(1_000_000.0, 1_000_000, prices) == pytest.approx(16.8667, abs=1e-4)


def test_cost_uses_the_prices_it_is_given():
    arm = Prices(per_gb_second=ARM64_PER_GB_SECOND)
    assert ARM64_PER_GB_SECOND == 0.0000133334
    assert cost_usd(1000.0, 0, arm) == pytest.approx(0.0133334)


def test_the_free_tier_is_400_000_gb_seconds_and_a_million_requests_a_month():
    prices = Prices()
    assert (prices.free_gb_seconds, prices.free_requests) == (400_000, 1_000_000)


def test_usage_inside_the_free_tier_costs_nothing_and_reports_what_is_left():
    use = free_tier(100_000.0, 250_000, Prices())
    assert use.gb_seconds_left == pytest.approx(300_000.0)
    assert use.requests_left == 750_000
    assert use.billable_cost_usd == 0.0
    assert (use.gb_seconds_used, use.requests_used) == (100_000.0, 250_000)


def test_usage_past_the_free_tier_bills_only_the_excess():
    use = free_tier(500_000.0, 1_500_000, Prices())
    assert use.gb_seconds_left == 0.0
    assert use.requests_left == 0
    # 100 000 GB-s x 0.0000166667 $ + 500 000 requests x 0.20 $ / million
    assert use.billable_cost_usd == pytest.approx(1.66667 + 0.10)


def test_compute_past_the_free_tier_is_billed_even_when_requests_are_not():
    use = free_tier(400_001.0, 10, Prices())
    assert use.requests_left == 999_990
    assert use.billable_cost_usd == pytest.approx(0.0000166667)
