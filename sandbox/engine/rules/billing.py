"""Lambda billing rules (docs/architecture.md §3). Pure functions: no settings, no database."""

import math
from dataclasses import dataclass

MB_PER_GB = 1024


@dataclass(frozen=True)
class Prices:
    per_gb_second: float = 0.0000166667  # us-east-1, x86_64
    per_request: float = 0.20 / 1_000_000
    bill_init_phase: bool = True  # the rule since 1 Aug 2025; False = the older rule
    free_gb_seconds: float = 400_000
    free_requests: int = 1_000_000
    # Provisioned concurrency: capacity per GB-s while configured, and invocations' duration.
    provisioned_capacity_per_gb_second: float = 0.0000041667
    provisioned_duration_per_gb_second: float = 0.0000097222


ARM64_PER_GB_SECOND = 0.0000133334


def billed_duration_ms(duration_ms, init_duration_ms=None, bill_init_phase=True):
    """Duration rounded up to the next 1 ms; a cold start also bills Init under the current rule."""
    total = duration_ms
    if init_duration_ms is not None and bill_init_phase:
        total += init_duration_ms
    return max(1, math.ceil(round(total, 6)))


def gb_seconds(memory_mb, billed_ms):
    return (memory_mb / MB_PER_GB) * (billed_ms / 1000)


def cost_usd(gb_s, requests, prices, provisioned=False):
    """Duration and request charges. On a provisioned environment the duration price is lower
    (the capacity is billed separately, by `provisioned_capacity_cost`)."""
    per_gb_s = prices.provisioned_duration_per_gb_second if provisioned else prices.per_gb_second
    return gb_s * per_gb_s + requests * prices.per_request


def provisioned_capacity_cost(memory_mb, environments, seconds, prices):
    """What keeping `environments` provisioned for `seconds` costs, invoked or not."""
    return (memory_mb / MB_PER_GB) * environments * seconds * prices.provisioned_capacity_per_gb_second


@dataclass(frozen=True)
class FreeTierUse:
    gb_seconds_used: float
    requests_used: int
    gb_seconds_left: float
    requests_left: int
    billable_cost_usd: float  # what the month would cost after the free tier


def free_tier(gb_s_total, requests_total, prices):
    gb_left = max(0.0, prices.free_gb_seconds - gb_s_total)
    req_left = max(0, prices.free_requests - requests_total)
    over_gb = max(0.0, gb_s_total - prices.free_gb_seconds)
    over_req = max(0, requests_total - prices.free_requests)
    return FreeTierUse(gb_s_total, requests_total, gb_left, req_left, cost_usd(over_gb, over_req, prices))
