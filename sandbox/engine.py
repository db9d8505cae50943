"""The engine: isolation detected once, limits, slots and prices, shared by every environment."""

import logging
from functools import cache

from . import cgroups
from .billing import Prices
from .environment import ExecutionEnvironment, Limits
from .isolation import detect
from .slots import SlotPool

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, isolation, limits, slots, prices):
        self.isolation = isolation
        self.limits = limits
        self.slots = slots
        self.prices = prices

    services = None  # async (spec, op, args) -> JSON: what `coldstart` helpers in handlers call

    def new_environment(self, spec):
        environment = ExecutionEnvironment(spec, self.isolation, self.limits, self.slots)
        environment.services = self.services
        return environment

    @classmethod
    def from_settings(cls):
        from django.conf import settings

        s = settings.SANDBOX
        isolation = detect(require=s["REQUIRE"] or None)
        if isolation.cgroup_version:
            cgroups.sweep_stale()
        limits = Limits(
            payload_bytes=s["PAYLOAD_BYTES"],
            init_timeout_s=s["INIT_TIMEOUT_S"],
            output_cap_bytes=s["OUTPUT_CAP_BYTES"],
            max_line_bytes=s["MAX_LINE_BYTES"],
            pids_max=s["PIDS_MAX"],
            nofile=s["NOFILE"],
            tmp_bytes=s["TMP_MB"] << 20,
            mb_per_vcpu=s["MB_PER_VCPU"],
            cpu_period_us=s["CPU_PERIOD_US"],
        )
        prices = prices_from_settings()
        slots = SlotPool(s["MAX_ENVIRONMENTS"], s["SLOT_UID_BASE"])
        log.warning("Coldstart sandbox: %s", isolation.describe())
        return cls(isolation, limits, slots, prices)


def prices_from_settings():
    from django.conf import settings

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


@cache
def get_engine():
    """The process-wide engine (the worker's)."""
    return Engine.from_settings()
