"""Sharded workers on one host: each takes its own part of the host's slots (a uid range of its
own) and of its memory budget, decided by the channel it serves; and the environments' parent
cgroup is held to the host's memory budget."""

import pytest
from channels.testing import ApplicationCommunicator

from sandbox.engine import cgroups
from sandbox.worker import SandboxWorker
from sandbox.worker.channels import all_worker_channels, shard_of
from sandbox.worker.config import cgroup_group, forget_engine, get_engine, serve_channel, slots_from_settings

BASE = 70000


@pytest.fixture
def four_shards(settings, isolation):
    host_budget_mb = settings.SANDBOX["HOST_MEMORY_MB"]
    settings.SANDBOX_WORKER_SHARDS = 4
    settings.SANDBOX = {
        **settings.SANDBOX,
        "MAX_ENVIRONMENTS": 32,
        "SLOT_UID_BASE": BASE,
        "HOST_MEMORY_MB": 8192,
    }
    forget_engine()
    yield settings
    forget_engine()
    if isolation.cgroup_version:
        cgroups.limit_base(host_budget_mb << 20, cgroup_group())  # as the other tests' workers set it


def uids(slots):
    return {slots.uid(n) for n in range(slots.size)}


def test_each_shard_channel_names_its_shard():
    assert shard_of("sandbox") is None
    assert shard_of("sandbox-0") == 0 and shard_of("sandbox-13") == 13
    assert shard_of("sandbox-x") is None


def test_shards_split_the_host_s_slots_into_disjoint_uid_ranges_and_its_memory(four_shards, isolation):
    shards = [slots_from_settings(isolation, shard_of(channel)) for channel in all_worker_channels()]
    assert [s.size for s in shards] == [8, 8, 8, 8]
    assert [s.memory_budget_mb for s in shards] == [2048] * 4
    ranges = [uids(s) for s in shards]
    assert len(set().union(*ranges)) == 32  # disjoint
    assert set().union(*ranges) == set(range(BASE, BASE + 32))
    whole = slots_from_settings(isolation, None)  # one worker serving every channel
    assert (whole.size, whole.memory_budget_mb, uids(whole)) == (32, 8192, set(range(BASE, BASE + 32)))


@pytest.mark.django_db  # the consumer closes stale database connections before each message
async def test_a_worker_started_on_sandbox_n_takes_shard_n_s_slots(four_shards):
    worker = ApplicationCommunicator(SandboxWorker.as_asgi(), {"type": "channel", "channel": "sandbox-2"})
    await worker.send_input({"type": "reset", "function_id": 1})
    await worker.wait(timeout=5)
    slots = get_engine().slots
    assert uids(slots) == set(range(BASE + 16, BASE + 24))
    assert slots.memory_budget_mb == 2048
    serve_channel("sandbox-3")  # a second channel in the same process changes nothing
    assert get_engine().slots is slots


def test_the_environments_cgroup_is_limited_to_the_host_memory_budget(four_shards, isolation):
    if not isolation.cgroup_version:
        pytest.skip(isolation.describe())
    get_engine()
    assert cgroups.base_memory_limit(cgroup_group()) == 8192 << 20
