"""The engine as the settings describe it: limits, slots, prices and scaling rules, read from
settings.SANDBOX, settings.BILLING and settings.SCALING (the one table their defaults live in)."""

import logging
import os
from functools import cache

from django.conf import settings

from sandbox.engine import cgroups, uidlease
from sandbox.engine.core import Engine
from sandbox.engine.isolation import detect
from sandbox.engine.outcomes import Limits
from sandbox.engine.pool import AccountLimits
from sandbox.engine.rules.billing import Prices
from sandbox.engine.slots import SlotPool, shard_range
from sandbox.worker.channels import shard_of

log = logging.getLogger(__name__)


def prices_from_settings():
    b = settings.BILLING
    return Prices(
        per_gb_second=b["PER_GB_SECOND"],
        per_request=b["PER_REQUEST"],
        bill_init_phase=b["BILL_INIT_PHASE"],
        free_gb_seconds=b["FREE_GB_SECONDS"],
        free_requests=b["FREE_REQUESTS"],
        provisioned_capacity_per_gb_second=b["PROVISIONED_CAPACITY_PER_GB_SECOND"],
        provisioned_duration_per_gb_second=b["PROVISIONED_DURATION_PER_GB_SECOND"],
    )


def account_limits():
    return AccountLimits.from_table(settings.SCALING)


def cgroup_group():
    """Where this instance's environment cgroups live: one directory per checkout (or INSTANCE),
    so another server's start-up sweep never removes them."""
    return f"coldstart-{settings.INSTANCE}"


def slots_from_settings(isolation, shard=None):
    """This worker's slots. Sharded workers (settings.SANDBOX_WORKER_SHARDS) each take their
    shard's part of the host's slots and memory budget; one worker serving every channel takes
    all of them. The uid block is leased (sandbox/engine/uidlease.py): another Coldstart worker
    on this host, of another checkout say, never runs sandboxes as the same uids."""
    s = settings.SANDBOX
    shards = settings.SANDBOX_WORKER_SHARDS if shard is not None else 1
    size, uid_base = shard_range(s["MAX_ENVIRONMENTS"], s["SLOT_UID_BASE"], shard, shards)
    if isolation.switch_uid:  # without uid switching the slots' uids are never used
        leased = uidlease.lease(uid_base, size)
        if leased != uid_base:
            log.warning(
                "slot uids %d.. are used by another Coldstart worker on this host; this one runs "
                "its sandboxes as uids %d..%d",
                uid_base, leased, leased + size - 1,
            )  # fmt: skip
        uid_base = leased
    return SlotPool(size, uid_base, memory_budget_mb=s["HOST_MEMORY_MB"] // shards)


def isolation_from_settings():
    """What the host gives this instance: through its launcher (SANDBOX_LAUNCHER_SOCKET, or a
    private one as root) or bubblewrap (SANDBOX_SPAWN=bwrap)."""
    s = settings.SANDBOX
    return detect(require=s["REQUIRE"] or None, cgroup_group=cgroup_group(), spawn=s["SPAWN"],
                  launcher_socket=s["LAUNCHER_SOCKET"])  # fmt: skip


def engine_from_settings(shard=None):
    s = settings.SANDBOX
    isolation = isolation_from_settings()
    if isolation.cgroup_version and os.geteuid() == 0:  # else the launcher sweeps and caps them
        cgroups.sweep_stale(isolation.cgroup_group)
        budget_mb = s["HOST_MEMORY_MB"]
        if cgroups.limit_base(budget_mb << 20, isolation.cgroup_group) is None:
            log.warning("Coldstart sandbox: cannot limit the environments' cgroup to %s MB", budget_mb)
    slots = slots_from_settings(isolation, shard)
    log.warning(
        "Coldstart sandbox: %s; %s slots (uids %s-%s), %s MB for environments",
        isolation.describe(),
        slots.size,
        slots.uid(0),
        slots.uid(slots.size - 1),
        slots.memory_budget_mb,
    )
    return Engine(isolation, Limits.from_table(s), slots, prices_from_settings())


_served = {"shard": None, "decided": False}


def serve_channel(channel):
    """The worker's consumer calls this for every message: the first channel this process
    serves decides its shard, before the engine is built (`runworker sandbox-N` serves shard N).
    A process serving every channel (the embedded worker, or `runworker sandbox`) has none."""
    shard = shard_of(channel)
    if not _served["decided"] and not get_engine.cache_info().currsize:
        _served.update(shard=shard, decided=True)
    elif shard != _served["shard"] and _served["shard"] is not None:
        log.error(
            "This worker serves %s but took the slots of shard %s: run one worker per channel.",
            channel,
            _served["shard"],
        )


def serve_all_channels():
    """The embedded worker serves every channel: all of the host's slots are its own."""
    if not get_engine.cache_info().currsize:
        _served.update(shard=None, decided=True)


@cache
def get_engine():
    """The process-wide engine (the worker's)."""
    return engine_from_settings(_served["shard"])


def forget_engine():
    """Drop the engine and the shard it served (tests, and a worker started afresh)."""
    get_engine.cache_clear()
    _served.update(shard=None, decided=False)
