"""A learner's running total: requests, GB-seconds and cost against the monthly free tier."""

from dataclasses import dataclass

from django.db.models import Count, Sum

from sandbox.engine.rules.billing import free_tier
from sandbox.models import Invocation
from sandbox.worker.config import prices_from_settings


@dataclass
class Totals:
    requests: int
    gb_seconds: float
    cost_usd: float
    free_requests: int
    free_gb_seconds: float
    cost_after_free_tier: float

    @property
    def requests_percent(self):
        return min(100.0, 100 * self.requests / self.free_requests) if self.free_requests else 100.0

    @property
    def gb_seconds_percent(self):
        return min(100.0, 100 * self.gb_seconds / self.free_gb_seconds) if self.free_gb_seconds else 100.0


def learner_totals(user):
    billed = Invocation.objects.filter(function__owner=user).exclude(
        status__in=[Invocation.QUEUED, Invocation.RUNNING, Invocation.THROTTLED, Invocation.FAILED]
    )
    agg = billed.aggregate(n=Count("id"), gb=Sum("gb_seconds"), cost=Sum("cost_usd"))
    p = prices_from_settings()
    tier = free_tier(agg["gb"] or 0.0, agg["n"] or 0, p)
    return Totals(
        agg["n"] or 0,
        agg["gb"] or 0.0,
        agg["cost"] or 0.0,
        p.free_requests,
        p.free_gb_seconds,
        tier.billable_cost_usd,
    )
