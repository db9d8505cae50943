"""The engine as the settings describe it: limits, slots, prices and scaling rules, read from
settings.SANDBOX, settings.BILLING and settings.SCALING (the one table their defaults live in)."""

import logging
from functools import cache

from django.conf import settings

from sandbox.engine import cgroups
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


def engine_from_settings():
    s = settings.SANDBOX
    isolation = detect(require=s["REQUIRE"] or None)
    if isolation.cgroup_version:
        cgroups.sweep_stale()
    slots = SlotPool(s["MAX_ENVIRONMENTS"], s["SLOT_UID_BASE"])
    log.warning("Coldstart sandbox: %s", isolation.describe())
    return Engine(isolation, Limits.from_table(s), slots, prices_from_settings())


@cache
def get_engine():
    """The process-wide engine (the worker's)."""
    return engine_from_settings()
