"""CloudWatch-style metrics of a function, per period: Invocations, Errors, Throttles, Duration
(avg, p50, p99, max), ConcurrentExecutions (the maximum in each period) and
ProvisionedConcurrencySpilloverInvocations, from the stored invocations.

`bucket_metrics` is the pure part (plain records in, series out; tests/test_metric_series.py).
As on CloudWatch, an invocation counts in the period it was invoked in (the timestamp of an
error is the invocation's, not the error's); periods are aligned to multiples of the period
since the Unix epoch; a period with no data is a zero (Duration: null, there is nothing to
average). `function_series` picks the invocations (one dimension: the function, or a version
once invocations record it) and the window.
"""

import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sandbox.models import Invocation
from sandbox.web.metrics import ERRORS, RAN, concurrency_series, invocation_window, percentile

METRICS = (
    "Invocations",
    "Errors",
    "Throttles",
    "Duration",
    "ConcurrentExecutions",
    "ProvisionedConcurrencySpilloverInvocations",
)
MAX_POINTS = 1440  # periods in one answer (a day of minutes)
MAX_RANGE_S = 24 * 3600
PERIODS_SHOWN = 60  # the default window: the last 60 periods
FIELDS = ("created", "started", "finished", "status", "duration_ms", "init_duration_ms", "spillover")


class BadWindow(ValueError):
    """A period or range that cannot be answered; the message names the parameter."""


def default_period():
    """1 minute, CloudWatch's standard resolution; with CLASSROOM_SPEED (timers x0.1), 10 s, one
    of CloudWatch's high resolutions."""
    return 10 if settings.CLASSROOM_SPEED else 60


def period_starts(start, end, period_s):
    """Unix seconds of every period from the one holding `start` to the one holding `end`."""
    first = math.floor(start.timestamp() / period_s) * period_s
    last = math.floor(end.timestamp() / period_s) * period_s
    return list(range(first, last + 1, period_s))


def _index(moment, first, period_s, count):
    """The period `moment` (Unix seconds) falls in, or None outside the window."""
    index = math.floor((moment - first) / period_s)
    return index if 0 <= index < count else None


def _busy_interval(invocation, now):
    """(from, to) in Unix seconds while the invocation held an environment; a running one, until now."""
    if invocation.status == Invocation.RUNNING:
        begun = invocation.started or invocation.created
        return begun.timestamp(), now.timestamp()
    busy_from, _, end = invocation_window(invocation)
    return busy_from.timestamp(), end.timestamp()


def peak_per_period(intervals, starts, period_s):
    """The most intervals [from, to) overlapping at any moment of each period."""
    steps, _ = concurrency_series(intervals)
    peaks, level, i = [], 0, 0
    for lo in starts:
        hi = lo + period_s
        while i < len(steps) and steps[i][0] <= lo:  # the level at the period's first moment
            level = steps[i][1]
            i += 1
        peak = level
        while i < len(steps) and steps[i][0] < hi:
            level = steps[i][1]
            peak = max(peak, level)
            i += 1
        peaks.append(peak)
    return peaks


def duration_point(durations):
    if not durations:
        return {"avg": None, "p50": None, "p99": None, "max": None}
    return {
        "avg": round(sum(durations) / len(durations), 2),
        "p50": percentile(durations, 50),
        "p99": percentile(durations, 99),
        "max": max(durations),
    }


def bucket_metrics(invocations, starts, period_s, now):
    """The series of every metric over the periods beginning at `starts` (Unix seconds, one
    period apart). `invocations` are records with created, started, finished, status,
    duration_ms, init_duration_ms and spillover (Invocation rows, or any object with those)."""
    count = len(starts)
    first = starts[0] if starts else 0
    counts = {name: [0] * count for name in ("Invocations", "Errors", "Throttles", "Spillover")}
    durations = [[] for _ in range(count)]
    intervals = []
    for invocation in invocations:
        ran = invocation.status in RAN and invocation.finished is not None
        if ran or invocation.status == Invocation.RUNNING:
            intervals.append(_busy_interval(invocation, now))
        index = _index(invocation.created.timestamp(), first, period_s, count)
        if index is None:
            continue
        if invocation.status == Invocation.THROTTLED:
            counts["Throttles"][index] += 1
        elif ran:
            counts["Invocations"][index] += 1
            counts["Errors"][index] += invocation.status in ERRORS
            counts["Spillover"][index] += bool(invocation.spillover)
            durations[index].append(invocation.duration_ms)
    peaks = peak_per_period(intervals, starts, period_s)

    def values(name):
        return [{"t": t, "value": n} for t, n in zip(starts, counts[name], strict=True)]

    return {
        "Invocations": values("Invocations"),
        "Errors": values("Errors"),
        "Throttles": values("Throttles"),
        "Duration": [{"t": t, **duration_point(d)} for t, d in zip(starts, durations, strict=True)],
        "ConcurrentExecutions": [{"t": t, "max": n} for t, n in zip(starts, peaks, strict=True)],
        "ProvisionedConcurrencySpilloverInvocations": values("Spillover"),
    }


# ---------------------------------------------------------------------------- from the database


def invocations_for(function, version=None):
    """The invocations one metric dimension covers: the function's, or one version's ("$LATEST",
    "1", …: the version that ran, so an alias's traffic counts under the version it pointed at)."""
    invocations = function.invocations.exclude(status=Invocation.QUEUED)
    if version is not None:
        invocations = invocations.filter(executed_version=version)
    return invocations


def check_window(period_s, range_s):
    """(period, range) in seconds, defaults filled in; BadWindow names what is wrong."""
    period_s = default_period() if period_s is None else period_s
    if not 1 <= period_s <= MAX_RANGE_S:
        raise BadWindow(f"period: {period_s} s is not between 1 and {MAX_RANGE_S} seconds.")
    range_s = period_s * PERIODS_SHOWN if range_s is None else range_s
    if not period_s <= range_s <= MAX_RANGE_S:
        raise BadWindow(f"range: {range_s} s is not between the period ({period_s} s) and {MAX_RANGE_S} s.")
    if range_s / period_s > MAX_POINTS:
        raise BadWindow(
            f"period: {period_s} s over {range_s} s makes {math.ceil(range_s / period_s)} points; "
            f"at most {MAX_POINTS}. Choose a longer period or a shorter range."
        )
    return period_s, range_s


def versions_seen(function):
    """The versions this function's invocations ran, "$LATEST" first then by number: the choices
    of the Monitor tab's version picker."""
    seen = set(function.invocations.values_list("executed_version", flat=True).distinct())
    return sorted(seen, key=lambda v: (v != "$LATEST", int(v) if v.isdigit() else 0, v))


def function_series(function, period_s=None, range_s=None, version=None, now=None):
    """The metrics of `function` over the last `range_s` seconds, one point per `period_s`."""
    period_s, range_s = check_window(period_s, range_s)
    now = now or timezone.now()
    starts = period_starts(now - timedelta(seconds=range_s - period_s), now, period_s)
    first = datetime.fromtimestamp(starts[0], tz=UTC)
    # An invocation invoked earlier can still be running in the window: at most its timeout plus init.
    longest = timedelta(seconds=function.timeout_s + settings.SANDBOX["INIT_TIMEOUT_S"])
    rows = invocations_for(function, version).filter(created__gte=first - longest).only(*FIELDS)
    return {
        "period": period_s,
        "range": range_s,
        "series": bucket_metrics(rows.iterator(), starts, period_s, now),
    }
