"""The Monitor tab: CloudWatch-style charts of the function's invocations, and their data."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sandbox.web.metric_series import PERIODS_SHOWN, BadWindow, default_period, function_series, versions_seen
from sandbox.web.ownership import own_function

PERIOD_CHOICES = [(10, "10 seconds"), (60, "1 minute"), (300, "5 minutes"), (3600, "1 hour")]
# "last <label>" on the page, "in the last <label>" in the charts' sentences.
RANGE_CHOICES = [(600, "10 minutes"), (3600, "hour"), (3 * 3600, "3 hours"), (12 * 3600, "12 hours"),
                 (24 * 3600, "day")]  # fmt: skip


@require_GET
def monitor_page(request, slug):
    function = own_function(request, slug)
    period = default_period()
    context = {
        "function": function,
        "period": period,
        "range": period * PERIODS_SHOWN,
        "period_choices": PERIOD_CHOICES,
        "range_choices": RANGE_CHOICES,
        "versions": versions_seen(function),
        "classroom_speed": settings.CLASSROOM_SPEED,
    }
    return render(request, "sandbox/monitor.html", context)


def _seconds(request, name):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadWindow(f"{name}: {raw[:20]!r} is not a whole number of seconds.") from None


@require_GET
def series_json(request, slug):
    """The Monitor tab's data: what GET /api/functions/<slug>/metrics gives as "series"."""
    function = own_function(request, slug)
    try:
        version = request.GET.get("version") or None  # empty: every version
        answer = function_series(function, _seconds(request, "period"), _seconds(request, "range"), version)
    except BadWindow as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(answer)
