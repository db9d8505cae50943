"""The pool with real environments: reuse, scale-out, throttles, provisioned concurrency, reclaim."""

import asyncio
from dataclasses import replace

import pytest
from django.conf import settings

from sandbox.engine.pool import (
    ACCOUNT_LIMIT,
    CHECK,
    HOST_CAP,
    HOST_MEMORY,
    INTERACTIVE,
    LEARNER_CONCURRENCY,
    LEARNER_MEMORY,
    LEARNER_RATE,
    LOAD,
    RESERVED_LIMIT,
    Account,
    AccountLimits,
    FunctionConcurrency,
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


def test_the_versions_of_a_function_share_its_reserved_concurrency(engine):
    async def scenario():
        account = Account(account_limits())
        shared = FunctionConcurrency(reserved=2)
        v1 = FunctionPool(engine, spec_for(SLOW, version="1"), account, function=shared)
        v2 = FunctionPool(engine, spec_for(SLOW, version="2"), account, function=shared)
        try:
            return await asyncio.gather(burst(v1, 2), burst(v2, 2))
        finally:
            v1.close()
            v2.close()

    first, second = asyncio.run(scenario())
    results = first + second
    assert len(ran(results)) == 2, "two versions, one reserved concurrency of 2"
    assert {t.reason for t in throttles(results)} == {RESERVED_LIMIT}


def test_a_version_has_its_own_environments_so_a_new_version_starts_cold(engine):
    async def scenario():
        account = Account(account_limits())
        shared = FunctionConcurrency()
        v1 = FunctionPool(engine, spec_for(SLOW, version="1"), account, function=shared)
        v2 = FunctionPool(engine, spec_for(SLOW, version="2"), account, function=shared)
        try:
            records = []
            for pool in (v1, v2, v1, v2):
                record, _ = await pool.invoke("{}")
                records.append(record)
            return records
        finally:
            v1.close()
            v2.close()

    records = asyncio.run(scenario())
    assert [r.cold for r in records] == [True, True, False, False]
    assert [r.executed_version for r in records] == ["1", "2", "1", "2"]
    assert all(r.logs[0].endswith(f"Version: {r.executed_version}") for r in records)


# ---------------------------------------------------------------- whatever goes wrong


class SinkFailed(Exception):
    pass


@pytest.mark.parametrize("fail_on", ["START", "handler output", "END", "REPORT"])
def test_an_exception_in_the_invoke_path_gives_the_slot_back(engine, fail_on):
    """The log sink (the worker's batcher) raises at one point of the invocation: the invocation
    fails, its environment is destroyed and its slot given back; the next one starts fresh."""
    source = "def handler(event, context):\n    print('handler output')\n    return 1\n"

    def sink(line):
        if line.startswith(fail_on):
            raise SinkFailed(line)

    async def scenario():
        pool = make_pool(engine, source)
        try:
            await pool.invoke("{}")  # warm: the failing invocation reuses this environment
            with pytest.raises(SinkFailed):
                await pool.invoke("{}", on_log=sink)
            after_failure = (engine.slots.in_use, pool.live_environments, pool.leaks())
            record, _ = await pool.invoke("{}")
            return after_failure, record
        finally:
            pool.close()

    after_failure, record = asyncio.run(scenario())
    assert after_failure == (0, 0, [])
    assert record.status == "ok" and record.cold


def test_a_cancelled_invocation_destroys_its_environment_and_gives_the_slot_back(engine):
    async def scenario():
        pool = make_pool(engine, "import time\ndef handler(event, context):\n    time.sleep(30)\n")
        try:
            task = asyncio.ensure_future(pool.invoke("{}"))
            while not pool.slots or pool.slots[0].environment.state != "busy":
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return engine.slots.in_use, pool.live_environments, pool.in_flight, pool.leaks()
        finally:
            pool.close()

    assert asyncio.run(scenario()) == (0, 0, 0, [])


# ---------------------------------------------------------------- fair shares


QUICK = "def handler(e, c):\n    return 1\n"


def test_the_host_admits_environments_against_its_memory_budget(engine):
    engine.slots = SlotPool(8, engine.slots.uid_base, memory_budget_mb=1024)

    async def scenario():
        account = Account(account_limits())
        big = FunctionPool(engine, spec_for(SLOW, memory_mb=512), account)
        huge = FunctionPool(engine, spec_for(QUICK, memory_mb=2048), account)
        try:
            results = await burst(big, 3)  # 2 x 512 MB fit; the third does not
            (too_big,) = await burst(huge, 1)
            return results, too_big, engine.slots.memory_in_use
        finally:
            big.close()
            huge.close()

    results, too_big, in_use = asyncio.run(scenario())
    assert len(ran(results)) == 2
    (throttle,) = throttles(results)
    assert throttle.reason == HOST_MEMORY
    assert "memory budget of 1024 MB" in throttle.message
    assert isinstance(too_big, Throttled) and too_big.reason == HOST_MEMORY
    assert in_use == 1024  # the two idle 512 MB environments, until closed


def test_an_idle_environment_of_another_function_is_evicted_to_make_memory_room(engine):
    engine.slots = SlotPool(8, engine.slots.uid_base, memory_budget_mb=1024)

    async def scenario():
        account = Account(account_limits())
        one = FunctionPool(engine, spec_for(QUICK, memory_mb=1024), account)
        two = FunctionPool(engine, spec_for(QUICK, memory_mb=512), account)
        try:
            (a,) = await burst(one, 1)
            (b,) = await burst(two, 1)
            return a, b, one.live_environments
        finally:
            one.close()
            two.close()

    a, b, one_live = asyncio.run(scenario())
    assert a[0].status == "ok" and b[0].status == "ok"
    assert one_live == 0


def test_a_learner_s_live_environments_are_held_to_their_memory_share(engine):
    async def scenario():
        account = Account(account_limits(learner_memory_mb=1024))
        alice = FunctionPool(engine, spec_for(SLOW, memory_mb=512), account, owner="alice")
        bob = FunctionPool(engine, spec_for(SLOW, memory_mb=512), account, owner="bob")
        try:
            return await asyncio.gather(burst(alice, 3), burst(bob, 2))
        finally:
            alice.close()
            bob.close()

    alice, bob = asyncio.run(scenario())
    assert len(ran(alice)) == 2
    (throttle,) = throttles(alice)
    assert throttle.reason == LEARNER_MEMORY
    assert "your share of this classroom server is 1024 MB" in throttle.message
    assert len(ran(bob)) == 2 and not throttles(bob)


def test_reservations_never_take_the_unreserved_floor(engine):
    async def scenario():
        account = Account(account_limits(concurrency=4, unreserved_floor=2))
        greedy = make_pool(engine, account=account, owner="mallory", reserved=4)  # stored before the cap
        other = make_pool(engine, account=account, owner="alice")
        try:
            return await burst(other, 3), account.unreserved_capacity()
        finally:
            greedy.close()
            other.close()

    results, capacity = asyncio.run(scenario())
    assert capacity == 2
    assert len(ran(results)) == 2
    assert {t.reason for t in throttles(results)} == {ACCOUNT_LIMIT}


def test_provisioned_environments_stop_at_the_learner_s_memory_share(engine):
    events = []

    async def scenario():
        limits = account_limits(learner_memory_mb=1024)
        account = Account(limits, on_event=lambda kind, **data: events.append(kind))
        pool = FunctionPool(engine, spec_for(QUICK, memory_mb=512), account, owner="alice")
        try:
            await pool.set_provisioned(5)
            return sum(s.provisioned for s in pool.slots)
        finally:
            pool.close()

    assert asyncio.run(scenario()) == 2
    assert "provisioning_blocked" in events


# ---------------------------------------------------------------- admission priorities
async def one_at(pool, priority):
    try:
        return await pool.invoke("{}", priority=priority)
    except Throttled as exc:
        return exc


def test_a_check_waits_for_the_accounts_capacity_and_load_tests_are_refused_meanwhile(engine):
    async def scenario():
        account = Account(account_limits(concurrency=1, unreserved_floor=1))
        busy = make_pool(engine, SLOW, account=account)
        check = make_pool(engine, QUICK, account=account)
        load = make_pool(engine, QUICK, account=account)
        try:
            running = asyncio.ensure_future(one_at(busy, INTERACTIVE))
            await asyncio.sleep(0.1)  # the account's one concurrent execution is in use
            checked = asyncio.ensure_future(one_at(check, CHECK))
            await asyncio.sleep(0.05)  # the check is waiting for it
            refused = await one_at(load, LOAD)
            return await running, await checked, refused
        finally:
            for pool in (busy, check, load):
                pool.close()

    running, checked, refused = asyncio.run(scenario())
    assert running[0].status == "ok"
    assert not isinstance(checked, Throttled) and checked[0].status == "ok"
    assert isinstance(refused, Throttled) and refused.reason == ACCOUNT_LIMIT
    assert "lesson check is waiting" in refused.message


def test_an_interactive_invocation_on_a_full_account_is_throttled_at_once(engine):
    async def scenario():
        account = Account(account_limits(concurrency=1, unreserved_floor=1))
        busy = make_pool(engine, SLOW, account=account)
        mine = make_pool(engine, QUICK, account=account)
        try:
            running = asyncio.ensure_future(one_at(busy, INTERACTIVE))
            await asyncio.sleep(0.1)
            return await one_at(mine, INTERACTIVE), await running
        finally:
            busy.close()
            mine.close()

    throttled, running = asyncio.run(scenario())
    assert isinstance(throttled, Throttled) and throttled.reason == ACCOUNT_LIMIT
    assert running[0].status == "ok"


def test_a_checks_reserved_concurrency_throttle_is_answered_at_once(engine):
    async def scenario():
        pool = make_pool(engine, SLOW, reserved=1)
        try:
            return await asyncio.gather(*(one_at(pool, CHECK) for _ in range(3)))
        finally:
            pool.close()

    results = asyncio.run(scenario())
    assert len(ran(results)) == 1
    # The function's own limit, not the platform's: it is what the check judges, never waited out.
    assert [t.reason for t in throttles(results)] == [RESERVED_LIMIT, RESERVED_LIMIT]


def test_a_checks_idle_environment_is_evicted_last_and_never_for_a_load_test(engine):
    engine.slots = SlotPool(2, engine.slots.uid_base)  # a host cap of two live environments

    async def scenario():
        account = Account(account_limits())
        checked = make_pool(engine, QUICK, account=account)
        other = make_pool(engine, QUICK, account=account)
        another = make_pool(engine, QUICK, account=account)
        load = make_pool(engine, QUICK, account=account)
        try:
            await one_at(checked, CHECK)  # the least recently used, but a Check's
            await one_at(other, INTERACTIVE)
            by_learner = await one_at(another, INTERACTIVE)  # evicts other's, not the Check's
            after_learner = checked.live_environments, other.live_environments
            by_load = await one_at(load, LOAD)  # only the Check's and another's are idle
            after_load = checked.live_environments, another.live_environments
            return by_learner, after_learner, by_load, after_load
        finally:
            for pool in (checked, other, another, load):
                pool.close()

    by_learner, after_learner, by_load, after_load = asyncio.run(scenario())
    assert by_learner[0].status == "ok" and after_learner == (1, 0)
    # The load test keeps 1 of the 2 slots free: it would need both idle ones, and may not
    # evict the Check's.
    assert isinstance(by_load, Throttled) and by_load.reason == HOST_CAP
    assert after_load == (1, 1)


def test_a_load_test_evicts_idle_environments_rather_than_take_the_hosts_last_slots(engine):
    engine.slots = SlotPool(2, engine.slots.uid_base)

    async def scenario():
        account = Account(account_limits())
        idle = make_pool(engine, QUICK, account=account)
        load = make_pool(engine, QUICK, account=account)
        try:
            await one_at(idle, INTERACTIVE)  # 1 of 2 slots in use: the last free one stays free
            return await one_at(load, LOAD), idle.live_environments, engine.slots.in_use
        finally:
            idle.close()
            load.close()

    by_load, idle_live, in_use = asyncio.run(scenario())
    assert by_load[0].status == "ok" and idle_live == 0 and in_use == 1


def test_load_tests_leave_an_eighth_of_the_account_to_learners_own_invocations(engine):
    async def scenario():
        account = Account(account_limits(concurrency=8, learner_concurrency=100))
        load = make_pool(engine, SLOW, account=account)
        mine = make_pool(engine, QUICK, account=account)
        try:
            loads = asyncio.gather(*(one_at(load, LOAD) for _ in range(8)))
            await asyncio.sleep(0.05)
            own = await one_at(mine, INTERACTIVE)
            return await loads, own
        finally:
            load.close()
            mine.close()

    loads, own = asyncio.run(scenario())
    assert len(ran(loads)) == 7
    assert [t.reason for t in throttles(loads)] == [ACCOUNT_LIMIT]
    assert "kept for learners' own invocations" in throttles(loads)[0].message
    assert not isinstance(own, Throttled) and own[0].status == "ok"


def test_load_tests_never_take_the_hosts_last_environments(engine):
    engine.slots = SlotPool(8, engine.slots.uid_base)  # 1/8 of 8: one slot kept

    async def scenario():
        account = Account(account_limits(concurrency=100, learner_concurrency=100))
        load = make_pool(engine, SLOW, account=account)
        mine = make_pool(engine, QUICK, account=account)
        try:
            loads = asyncio.gather(*(one_at(load, LOAD) for _ in range(8)))
            await asyncio.sleep(0.05)
            own = await one_at(mine, INTERACTIVE)
            return await loads, own
        finally:
            load.close()
            mine.close()

    loads, own = asyncio.run(scenario())
    assert len(ran(loads)) == 7
    assert [t.reason for t in throttles(loads)] == [HOST_CAP]
    assert "for learners' own invocations" in throttles(loads)[0].message
    assert not isinstance(own, Throttled) and own[0].status == "ok"


def test_a_learners_load_test_leaves_one_of_their_share_to_their_own_invoke(engine):
    async def scenario():
        account = Account(account_limits(learner_concurrency=3))
        load = make_pool(engine, SLOW, account=account, owner="ada")
        mine = make_pool(engine, QUICK, account=account, owner="ada")
        try:
            loads = asyncio.gather(*(one_at(load, LOAD) for _ in range(3)))
            await asyncio.sleep(0.05)
            own = await one_at(mine, INTERACTIVE)
            return await loads, own
        finally:
            load.close()
            mine.close()

    loads, own = asyncio.run(scenario())
    assert len(ran(loads)) == 2
    assert [t.reason for t in throttles(loads)] == [LEARNER_CONCURRENCY]
    assert not isinstance(own, Throttled) and own[0].status == "ok"


def test_a_throttled_invocation_is_not_counted_against_the_per_minute_share(engine):
    async def scenario():
        account = Account(account_limits(learner_per_minute=2, concurrency=1, unreserved_floor=1))
        busy = make_pool(engine, SLOW, account=account)
        mine = make_pool(engine, QUICK, account=account, owner="ada")
        try:
            running = asyncio.ensure_future(one_at(busy, INTERACTIVE))
            await asyncio.sleep(0.1)
            refused = [await one_at(mine, INTERACTIVE) for _ in range(3)]  # the account is full
            await running
            return refused, [await one_at(mine, INTERACTIVE) for _ in range(3)]
        finally:
            busy.close()
            mine.close()

    refused, later = asyncio.run(scenario())
    assert {t.reason for t in throttles(refused)} == {ACCOUNT_LIMIT}
    assert len(ran(later)) == 2
    assert [t.reason for t in throttles(later)] == [LEARNER_RATE]


def test_provisioned_environments_wait_for_a_slot_on_a_host_full_of_other_traffic(engine):
    engine.slots = SlotPool(1, engine.slots.uid_base)  # a host cap of one live environment

    async def scenario():
        account = Account(account_limits())
        busy = make_pool(engine, SLOW, account=account)
        provisioned = make_pool(engine, QUICK, account=account)
        try:
            running = asyncio.ensure_future(one_at(busy, INTERACTIVE))
            await asyncio.sleep(0.1)  # the host's one slot is in use for 0.3 s
            await provisioned.set_provisioned(1)
            await running
            return sum(s.provisioned for s in provisioned.slots), busy.live_environments
        finally:
            busy.close()
            provisioned.close()

    ready, busy_live = asyncio.run(scenario())
    assert ready == 1 and busy_live == 0  # the busy one, idle again, was evicted for it
