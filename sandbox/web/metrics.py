"""What the scaling page and lesson checks see: the environment timeline, concurrency over time,
counts, percentiles and cost, all computed from stored invocations and environment records."""

import math
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from sandbox.engine.rules.billing import provisioned_capacity_cost
from sandbox.models import EnvironmentRecord, Invocation
from sandbox.versions import provisioned_capacity
from sandbox.worker.config import prices_from_settings

RAN = (Invocation.OK, Invocation.ERROR, Invocation.TIMEOUT, Invocation.OOM, Invocation.CRASHED)
ERRORS = (Invocation.ERROR, Invocation.TIMEOUT, Invocation.OOM, Invocation.CRASHED)


def percentile(values, p):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(moment, origin):
    return round((moment - origin).total_seconds() * 1000, 1)


def invocation_window(invocation):
    """(busy_from, run_from, end) of an invocation that ran: init (if cold) then the handler."""
    end = invocation.finished
    run_from = end - timedelta(milliseconds=invocation.duration_ms)
    busy_from = run_from - timedelta(milliseconds=invocation.init_duration_ms or 0)
    return busy_from, run_from, end


def concurrency_series(intervals):
    """Step series [(t, n)] of how many intervals overlap, and its peak."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    series, current, peak = [], 0, 0
    for moment, delta in edges:
        current += delta
        peak = max(peak, current)
        if series and series[-1][0] == moment:
            series[-1] = (moment, current)
        else:
            series.append((moment, current))
    return series, peak


def activity_window(load_test, invocations, windows, environments, since, until):
    """(start, end) of what the timeline shows: the burst itself, from its first request (or the
    load test's start) to its last end, so a 1 s burst fills the width even when a warm
    environment from minutes before served it. With no activity: the environments' own span."""
    starts = [busy_from for busy_from, _, _ in windows.values()] + [i.created for i in invocations]
    ends = [end for _, _, end in windows.values()] + [i.created for i in invocations]
    if load_test is not None and load_test.started:
        starts.append(load_test.started)
    if any(i.finished is None for i in invocations) or (load_test is not None and load_test.finished is None):
        ends.append(until)  # still running: up to now
    if not starts:
        starts = [max(since, min([e.started for e in environments], default=since))]
        ends = [until]
    start = min(starts)
    ends += [e.ready or e.started for e in environments if e.started >= start]  # e.g. provisioned later
    end = max(ends + starts)
    return start, max(end, start + timedelta(milliseconds=100))


def function_metrics(function, load_test=None, since=None):
    """The scaling picture of `function` for one load test, or since a moment (default: 10 min)."""
    now = timezone.now()
    invocations = function.invocations.exclude(status__in=[Invocation.QUEUED])
    if load_test is not None:
        invocations = invocations.filter(load_test=load_test)
        since = load_test.started
    else:
        since = since or now - timedelta(minutes=10)
        invocations = invocations.filter(created__gte=since)
    invocations = list(invocations.order_by("created"))
    ran = [i for i in invocations if i.status in RAN and i.finished]
    throttled = [i for i in invocations if i.status == Invocation.THROTTLED]
    until = max(
        [i.finished for i in invocations if i.finished]
        + [now if load_test is None or load_test.finished is None else load_test.finished]
    )
    env_names = {i.environment_name for i in ran if i.environment_name}
    environments = list(
        EnvironmentRecord.objects.filter(function=function)
        .filter(started__lte=until)
        .exclude(ended__lt=since)
    )
    environments = [e for e in environments if e.name in env_names or e.started >= since]
    windows = {i.pk: invocation_window(i) for i in ran}
    origin, window_end = activity_window(load_test, invocations, windows, environments, since, until)

    lanes = []
    for env in environments:
        segments = []
        if env.provisioned and env.ready and env.ready > origin:
            segments.append(
                {"kind": "init", "from": _ms(max(env.started, origin), origin), "to": _ms(env.ready, origin)}
            )
        for inv in ran:
            if inv.environment_name != env.name:
                continue
            busy_from, run_from, end = windows[inv.pk]
            if inv.cold and inv.init_duration_ms:
                segments.append({"kind": "init", "from": _ms(busy_from, origin), "to": _ms(run_from, origin)})
            segments.append(
                {
                    "kind": "invoke",
                    "status": inv.status,
                    "from": _ms(run_from, origin),
                    "to": _ms(end, origin),
                    "request_id": str(inv.request_id),
                    "version": inv.executed_version,
                }
            )
        ended_in_window = env.ended is not None and env.ended <= window_end
        lanes.append(
            {
                "environment": env.name,
                "version": env.version,
                "provisioned": env.provisioned,
                # An environment started before the window is drawn from its left edge.
                "from": _ms(max(env.started, origin), origin),
                "started_before": env.started < origin,
                "to": _ms(env.ended, origin) if ended_in_window else None,
                "end_reason": env.end_reason if ended_in_window else "",
                "segments": segments,
            }
        )

    intervals = [(windows[i.pk][0], windows[i.pk][2]) for i in ran]
    series, peak = concurrency_series(intervals)
    durations = [i.duration_ms for i in ran]
    span_s = max(
        0.001,
        ((max(e for _, e in intervals) - min(s for s, _ in intervals)).total_seconds())
        if intervals
        else 0.001,
    )
    busy_s = sum((end - start).total_seconds() for start, end in intervals)
    # The formula side uses what a learner would estimate from outside: the arrival rate of the
    # requests that ran, times their average handler Duration (no init, no queueing).
    arrivals = [i.created for i in ran]
    arrival_span_s = max(1.0, (max(arrivals) - min(arrivals)).total_seconds()) if arrivals else 1.0
    rps = len(ran) / arrival_span_s if ran else 0.0
    avg_busy_s = (sum(durations) / len(durations) / 1000) if durations else 0.0
    gb_s = sum(i.gb_seconds for i in ran)
    prices = prices_from_settings()
    capacity_cost = 0.0
    for memory_mb, environments, configured in provisioned_capacity(function):
        seconds = (now - max(configured, since)).total_seconds()
        capacity_cost += provisioned_capacity_cost(memory_mb, environments, max(0, seconds), prices)
    return {
        "function": function.slug,
        "origin": origin.isoformat(),
        "window": {"from": 0.0, "to": _ms(window_end, origin)},
        "load_test": _load_test_json(load_test),
        "lanes": lanes,
        "throttles": [
            {"at": _ms(i.created, origin), "reason": (i.error or {}).get("Reason", "")} for i in throttled
        ],
        "concurrency": [[_ms(moment, origin), n] for moment, n in series],
        "counts": {
            "invocations": len(ran),
            "cold_starts": sum(1 for i in ran if i.cold),
            # Split by who served the request: an on-demand environment, or a provisioned one
            # (initialised ahead of time, so normally 0 -- the point of provisioning).
            "cold_starts_on_demand": sum(1 for i in ran if i.cold and not i.provisioned),
            "cold_starts_provisioned": sum(1 for i in ran if i.cold and i.provisioned),
            "throttles": len(throttled),
            "errors": sum(1 for i in ran if i.status in ERRORS),
            "environments": len(lanes),
            "provisioned_invocations": sum(1 for i in ran if i.provisioned),
            "by_version": dict(sorted(Counter(i.executed_version for i in ran).items())),
        },
        "duration_ms": {"p50": percentile(durations, 50), "p99": percentile(durations, 99)},
        "gb_seconds": gb_s,
        "cost_usd": sum(i.cost_usd for i in ran) + capacity_cost,
        "provisioned_capacity_cost_usd": capacity_cost,
        "concurrency_measured": {"peak": peak, "average": round(busy_s / span_s, 2) if ran else 0.0},
        "concurrency_formula": {
            "requests_per_second": round(rps, 2),
            "average_duration_s": round(avg_busy_s, 4),
            "concurrency": round(rps * avg_busy_s, 2),
        },
    }


def _load_test_json(load_test):
    if load_test is None:
        return None
    return {
        "id": load_test.pk,
        "status": load_test.status,
        "mode": load_test.mode,
        "planned": load_test.planned,
        "sent": load_test.sent,
        "completed": load_test.completed,
        "percent": load_test.percent,
    }
