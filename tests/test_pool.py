"""The pool with real environments: reuse, scale-out, throttles, provisioned concurrency, reclaim."""

import asyncio
from dataclasses import replace

import pytest
from django.conf import settings

from sandbox.engine.pool import (
    ACCOUNT_LIMIT,
    HOST_CAP,
    LEARNER_CONCURRENCY,
    LEARNER_RATE,
    RESERVED_LIMIT,
    Account,
    AccountLimits,
    FunctionPool,
    Throttled,
)
from sandbox.engine.slots import SlotPool
from tests.sandbox_helpers import spec_for

SLOW = """
import time
def handler(event, context):
    time.sleep(0.3)
    return "done"
"""


async def burst(pool, n):
    """n concurrent invocations: (record, placement) or the Throttled raised."""

    async def one():
        try:
            return await pool.invoke("{}")
        except Throttled as exc:
            return exc

    return await asyncio.gather(*(one() for _ in range(n)))


def ran(results):
    return [r for r in results if not isinstance(r, Throttled)]


def throttles(results):
    return [r for r in results if isinstance(r, Throttled)]


def account_limits(**overrides):
    """The settings' scaling limits, with a test's overrides."""
    return replace(AccountLimits.from_table(settings.SCALING), **overrides)


def make_pool(engine, source=SLOW, account=None, **options):
    account = account or Account(account_limits())
    return FunctionPool(engine, spec_for(source), account, **options)


def test_five_concurrent_invocations_start_five_environments_then_reuse_them_warm(engine):
    async def scenario():
        pool = make_pool(engine)
        try:
            first = await burst(pool, 5)
            second = await burst(pool, 5)
            return first, second, pool.live_environments
        finally:
            pool.close()

    first, second, live = asyncio.run(scenario())
    assert all(record.status == "ok" and record.cold for record, _ in first)
    assert len({placement.environment for _, placement in first}) == 5
    assert all(record.status == "ok" and not record.cold for record, _ in second)
    assert {p.environment for _, p in second} == {p.environment for _, p in first}
    assert live == 5
    assert not any(p.spillover for _, p in first + second)  # no provisioned concurrency: no spillover


def test_reserved_concurrency_two_with_five_concurrent_gives_exactly_three_throttles(engine):
    async def scenario():
        pool = make_pool(engine, reserved=2)
        try:
            return await burst(pool, 5)
        finally:
            pool.close()

    results = asyncio.run(scenario())
    assert len(ran(results)) == 2
    assert len(throttles(results)) == 3
    assert {t.reason for t in throttles(results)} == {RESERVED_LIMIT}


def test_reserved_concurrency_zero_disables_the_function(engine):
    async def scenario():
        pool = make_pool(engine, reserved=0)
        try:
            return await burst(pool, 1)
        finally:
            pool.close()

    (result,) = asyncio.run(scenario())
    assert isinstance(result, Throttled) and result.reason == RESERVED_LIMIT


def test_provisioned_concurrency_serves_the_first_two_without_init(engine):
    async def scenario():
        pool = make_pool(engine)
        try:
            await pool.set_provisioned(2)
            return await burst(pool, 3)
        finally:
            pool.close()

    results = asyncio.run(scenario())
    provisioned = [(r, p) for r, p in results if p.provisioned]
    on_demand = [(r, p) for r, p in results if not p.provisioned]
    assert len(provisioned) == 2
    assert all(r.init_duration_ms is None and not r.cold for r, _ in provisioned)
    assert len(on_demand) == 1 and on_demand[0][0].cold and on_demand[0][0].init_duration_ms > 0
    # The one that ran on-demand while provisioned concurrency was configured spilled over.
    assert [p.spillover for _, p in on_demand] == [True]
    assert not any(p.spillover for _, p in provisioned)


def test_an_environment_idle_past_the_ttl_is_reclaimed_and_the_next_invocation_is_cold(engine):
    async def scenario():
        pool = make_pool(engine, account=Account(account_limits(idle_ttl_s=0.2)))
        try:
            (first,) = await burst(pool, 1)
            (warm,) = await burst(pool, 1)
            await asyncio.sleep(0.3)
            reclaimed = pool.reclaim_idle()
            (after,) = await burst(pool, 1)
            return first, warm, reclaimed, after
        finally:
            pool.close()

    first, warm, reclaimed, after = asyncio.run(scenario())
    assert first[0].cold and not warm[0].cold
    assert reclaimed == 1
    assert after[0].cold


def test_the_account_limit_throttles_unreserved_functions(engine):
    async def scenario():
        pool = make_pool(engine, account=Account(account_limits(concurrency=2)))
        try:
            return await burst(pool, 4)
        finally:
            pool.close()

    results = asyncio.run(scenario())
    assert len(ran(results)) == 2
    assert {t.reason for t in throttles(results)} == {ACCOUNT_LIMIT}


def test_learner_quotas_apply_per_learner(engine):
    async def scenario():
        account = Account(account_limits(learner_concurrency=2))
        alice = make_pool(engine, account=account, owner="alice")
        bob = make_pool(engine, account=account, owner="bob")
        try:
            return await asyncio.gather(burst(alice, 3), burst(bob, 2))
        finally:
            alice.close()
            bob.close()

    alice, bob = asyncio.run(scenario())
    assert len(ran(alice)) == 2 and [t.reason for t in throttles(alice)] == [LEARNER_CONCURRENCY]
    assert len(ran(bob)) == 2 and not throttles(bob)


def test_the_per_minute_quota_throttles_a_learner(engine):
    async def scenario():
        pool = make_pool(engine, "def handler(e, c):\n    return 1\n",
                         account=Account(account_limits(learner_per_minute=3)), owner="alice")
        try:
            return [await burst(pool, 1) for _ in range(4)]
        finally:
            pool.close()

    results = [r for (r,) in asyncio.run(scenario())]
    assert not isinstance(results[2], Throttled)
    assert isinstance(results[3], Throttled) and results[3].reason == LEARNER_RATE


def test_the_host_cap_evicts_another_functions_idle_environment_before_throttling(engine):
    engine.slots = SlotPool(1, engine.slots.uid_base)  # a host cap of one live environment

    async def scenario():
        account = Account(account_limits())
        one = make_pool(engine, "def handler(e, c):\n    return 1\n", account=account)
        two = make_pool(engine, SLOW, account=account)
        try:
            (a,) = await burst(one, 1)  # one's environment stays idle
            (b,) = await burst(two, 1)  # needs a slot: one's idle environment is evicted
            results = await asyncio.gather(burst(two, 1), burst(one, 1))  # cap of 1, both busy
            return a, b, results, one.live_environments
        finally:
            one.close()
            two.close()

    a, b, results, one_live = asyncio.run(scenario())
    assert a[0].status == "ok" and b[0].status == "ok"
    flat = [r for group in results for r in group]
    assert any(isinstance(r, Throttled) and r.reason == HOST_CAP for r in flat)


@pytest.mark.parametrize("count", [0, 1])
def test_lowering_provisioned_concurrency_destroys_the_extra_environments(engine, count):
    async def scenario():
        pool = make_pool(engine)
        try:
            await pool.set_provisioned(2)
            await pool.set_provisioned(count)
            return sum(s.provisioned for s in pool.slots), pool.live_environments
        finally:
            pool.close()

    provisioned, live = asyncio.run(scenario())
    assert provisioned == count and live == count
