"""The engine as the settings describe it: limits, slots, prices and scaling rules, read from
settings.SANDBOX, settings.BILLING and settings.SCALING (the one table their defaults live in)."""

import logging
from functools import cache

from django.conf import settings

from sandbox.engine import cgroups, uidlease
from sandbox.engine.core import Engine
from sandbox.engine.isolation import detect
from sandbox.engine.outcomes import Limits
from sandbox.engine.pool import AccountLimits
from sandbox.engine.rules.billing import Prices
from sandbox.engine.slots import SlotPool

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


def slot_uid_base(isolation):
    """SANDBOX_SLOT_UID_BASE, or the next free block when another worker on this host runs
    sandboxes as those uids (sandbox/engine/uidlease.py)."""
    s = settings.SANDBOX
    if not isolation.switch_uid:
        return s["SLOT_UID_BASE"]  # no uid switching: the slots' uids are never used
    base = uidlease.lease(s["SLOT_UID_BASE"], s["MAX_ENVIRONMENTS"])
    if base != s["SLOT_UID_BASE"]:
        log.warning(
            "slot uids %d.. are used by another Coldstart worker on this host; this one runs "
            "its sandboxes as uids %d..%d",
            s["SLOT_UID_BASE"], base, base + s["MAX_ENVIRONMENTS"] - 1,
        )
    return base


def engine_from_settings():
    s = settings.SANDBOX
    isolation = detect(require=s["REQUIRE"] or None, cgroup_group=cgroup_group())
    if isolation.cgroup_version:
        cgroups.sweep_stale(isolation.cgroup_group)
    slots = SlotPool(s["MAX_ENVIRONMENTS"], slot_uid_base(isolation))
    log.warning("Coldstart sandbox: %s", isolation.describe())
    return Engine(isolation, Limits.from_table(s), slots, prices_from_settings())


@cache
def get_engine():
    """The process-wide engine (the worker's)."""
    return engine_from_settings()
