"""The Monitor tab's metrics: the pure bucketing (periods, edges, empty periods, percentiles,
concurrency), the window checks, the query over stored invocations and the JSON API's series."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from sandbox.models import Function, Invocation
from sandbox.web.metric_series import (
    MAX_POINTS,
    METRICS,
    BadWindow,
    bucket_metrics,
    check_window,
    default_period,
    function_series,
    invocations_for,
    peak_per_period,
    period_starts,
)

T0 = 1_800_000_000  # a multiple of 60 (and of 10): a period boundary
BASE = datetime.fromtimestamp(T0, tz=UTC)


def at(seconds):
    return BASE + timedelta(seconds=seconds)


def record(created_s, status="ok", duration_ms=100.0, init_ms=None, spillover=False, ends_s=None):
    """An invocation as the bucketing reads it. By default it runs from `created_s` for its duration."""
    end = at(ends_s if ends_s is not None else created_s + (duration_ms + (init_ms or 0)) / 1000)
    finished = end if status not in ("running", "throttled", "queued") else None
    return SimpleNamespace(
        created=at(created_s),
        started=at(created_s),
        finished=finished,
        status=status,
        duration_ms=duration_ms,
        init_duration_ms=init_ms,
        spillover=spillover,
    )


def values(series, name, key="value"):
    return [point[key] for point in series[name]]


# ------------------------------------------------------------------------------ pure bucketing


def test_periods_are_aligned_to_the_epoch_and_include_the_partial_last_one():
    assert period_starts(at(5), at(125), 60) == [T0, T0 + 60, T0 + 120]
    assert period_starts(at(60), at(60), 60) == [T0 + 60]
    assert period_starts(at(-1), at(0), 10) == [T0 - 10, T0]


def test_empty_periods_are_zeros_and_durations_null():
    series = bucket_metrics([], period_starts(at(0), at(179), 60), 60, now=at(179))
    assert set(series) == set(METRICS)
    for name in ("Invocations", "Errors", "Throttles", "ProvisionedConcurrencySpilloverInvocations"):
        assert series[name] == [{"t": t, "value": 0} for t in (T0, T0 + 60, T0 + 120)]
    assert values(series, "ConcurrentExecutions", "max") == [0, 0, 0]
    assert series["Duration"][1] == {"t": T0 + 60, "avg": None, "p50": None, "p99": None, "max": None}


def test_an_invocation_counts_in_the_period_it_was_invoked_in_edges_included():
    records = [
        record(-0.001),  # before the window: not counted
        record(0),  # the first moment of the first period
        record(59.999),  # the last moment of the first period
        record(60),  # the first moment of the second
        record(119.5, duration_ms=2000),  # ends in the third period: still the second's
        record(180),  # after the window
    ]
    series = bucket_metrics(records, [T0, T0 + 60, T0 + 120], 60, now=at(200))
    assert values(series, "Invocations") == [2, 2, 0]


def test_errors_throttles_and_spillover_are_counted_apart():
    records = [
        record(1),
        record(2, status="error"),
        record(3, status="timeout"),
        record(4, status="oom"),
        record(5, status="crashed"),
        record(6, status="throttled"),
        record(7, status="throttled"),
        record(8, status="failed"),  # the worker was lost: not a billed invocation
        record(61, spillover=True),
        record(62, spillover=True, status="error"),
    ]
    series = bucket_metrics(records, [T0, T0 + 60], 60, now=at(120))
    # Invocations count errors too (every billed request); throttles are not invocations.
    assert values(series, "Invocations") == [5, 2]
    assert values(series, "Errors") == [4, 1]
    assert values(series, "Throttles") == [2, 0]
    assert values(series, "ProvisionedConcurrencySpilloverInvocations") == [0, 2]


def test_duration_percentiles_are_nearest_rank():
    records = [record(1 + i / 1000, duration_ms=float(ms)) for i, ms in enumerate(range(100, 0, -1))]
    records.append(record(70, duration_ms=42.0))
    series = bucket_metrics(records, [T0, T0 + 60], 60, now=at(120))
    assert series["Duration"][0] == {"t": T0, "avg": 50.5, "p50": 50.0, "p99": 99.0, "max": 100.0}
    assert series["Duration"][1] == {"t": T0 + 60, "avg": 42.0, "p50": 42.0, "p99": 42.0, "max": 42.0}


def test_duration_ignores_throttles_and_running_invocations():
    records = [record(1, duration_ms=10.0), record(2, status="throttled", duration_ms=0.0),
               record(3, status="running", duration_ms=0.0)]  # fmt: skip
    series = bucket_metrics(records, [T0], 60, now=at(30))
    assert series["Duration"][0]["max"] == 10.0 and series["Duration"][0]["avg"] == 10.0


def test_concurrent_executions_is_the_peak_in_each_period():
    records = [
        record(10, duration_ms=20_000),  # 10 s .. 30 s
        record(20, duration_ms=5_000),  # 20 s .. 25 s: two at once
        record(50, duration_ms=80_000),  # 50 s .. 130 s: spans three periods
        record(100, duration_ms=1_000, init_ms=500),  # busy 100 .. 101.5 with its init
    ]
    series = bucket_metrics(records, [T0, T0 + 60, T0 + 120, T0 + 180], 60, now=at(200))
    assert values(series, "ConcurrentExecutions", "max") == [2, 2, 1, 0]


def test_an_interval_ending_on_a_period_start_is_not_in_that_period():
    starts = [T0, T0 + 60]
    assert peak_per_period([(T0 + 30, T0 + 60)], starts, 60) == [1, 0]
    assert peak_per_period([(T0 + 30, T0 + 60), (T0 + 60, T0 + 70)], starts, 60) == [1, 1]
    assert peak_per_period([(T0 - 100, T0 + 200)], starts, 60) == [1, 1]  # began before the window


def test_a_running_invocation_is_concurrent_until_now_and_counted_once_it_finishes():
    series = bucket_metrics([record(30, status="running")], [T0, T0 + 60, T0 + 120], 60, now=at(90))
    assert values(series, "ConcurrentExecutions", "max") == [1, 1, 0]
    assert values(series, "Invocations") == [0, 0, 0]


# ------------------------------------------------------------------------------ window checks


def test_the_default_period_is_a_minute_or_ten_seconds_at_classroom_speed(settings):
    settings.CLASSROOM_SPEED = False
    assert default_period() == 60
    assert check_window(None, None) == (60, 3600)
    settings.CLASSROOM_SPEED = True
    assert default_period() == 10
    assert check_window(None, None) == (10, 600)


@pytest.mark.parametrize(
    "period, range_s, names",
    [(0, None, "period"), (60, 30, "range"), (60, 10**6, "range"), (1, 86_400, "period")],
)
def test_a_window_that_cannot_be_answered_names_the_parameter(period, range_s, names):
    with pytest.raises(BadWindow) as raised:
        check_window(period, range_s)
    assert str(raised.value).startswith(names + ":")


def test_the_number_of_points_is_bounded():
    assert check_window(60, 60 * MAX_POINTS) == (60, 60 * MAX_POINTS)
    with pytest.raises(BadWindow):
        check_window(59, 60 * MAX_POINTS)


# ------------------------------------------------------------------------------ stored invocations


@pytest.fixture
def function(db):
    owner = get_user_model().objects.create_user("grace", password="pw-grace-1")
    return Function.objects.create(owner=owner, name="metered")


def stored(function, created, **fields):
    defaults = {"status": "ok", "duration_ms": 10.0, "finished": created + timedelta(milliseconds=10)}
    return Invocation.objects.create(function=function, created=created, **{**defaults, **fields})


def test_function_series_reads_the_stored_invocations_of_the_window(function):
    now = at(3600 + 30)
    stored(function, at(3600 + 5))
    stored(function, at(3600 + 6), status="error", duration_ms=30.0, finished=at(3600 + 6.03))
    stored(function, at(3600 - 50), status="throttled", finished=at(3600 - 50))
    stored(function, at(3600 - 40), spillover=True)
    stored(function, at(3600 - 30), status="queued", finished=None)  # not invoked yet: not counted
    stored(function, at(-3600))  # an hour before the window
    other = Function.objects.create(owner=function.owner, name="other")
    stored(other, at(3600 + 7))

    answer = function_series(function, 60, 600, now=now)
    assert answer["period"] == 60 and answer["range"] == 600
    series = answer["series"]
    assert len(series["Invocations"]) == 10
    assert series["Invocations"][-1] == {"t": T0 + 3600, "value": 2}
    assert series["Errors"][-1]["value"] == 1
    assert series["Throttles"][-2]["value"] == 1
    assert series["ProvisionedConcurrencySpilloverInvocations"][-2]["value"] == 1
    assert sum(p["value"] for p in series["Invocations"]) == 3
    assert series["Duration"][-1]["max"] == 30.0


def test_the_version_dimension_keeps_the_invocations_of_that_version(function):
    now = datetime.now(UTC)
    stored(function, now, executed_version="1")
    stored(function, now, executed_version="2")
    stored(function, now)  # $LATEST
    assert invocations_for(function).count() == 3
    assert list(invocations_for(function, version="1").values_list("executed_version", flat=True)) == ["1"]
    client = Client()
    client.force_login(function.owner)
    body = client.get(f"/api/functions/{function.slug}/metrics?period=60&version=2").json()
    assert sum(p["value"] for p in body["series"]["Invocations"]) == 1


def test_the_monitor_tab_offers_each_version_that_ran_and_charts_one(function):
    client = Client()
    client.force_login(function.owner)
    assert 'id="monitor-version"' not in client.get(f"/functions/{function.slug}/monitor/").content.decode()

    now = datetime.now(UTC)
    for version in ("10", "2", "2", "$LATEST"):
        stored(function, now, executed_version=version)
    page = client.get(f"/functions/{function.slug}/monitor/").content.decode()
    options = page[page.index('id="monitor-version"') :].split("</select>")[0]
    assert [o.split('"')[1] for o in options.split("<option value=")[1:]] == ["", "$LATEST", "2", "10"]
    series = f"/functions/{function.slug}/monitor/series.json?period=60&range=600"
    assert sum(p["value"] for p in client.get(series).json()["series"]["Invocations"]) == 4
    only_2 = client.get(series + "&version=2").json()["series"]["Invocations"]
    assert sum(p["value"] for p in only_2) == 2


def test_the_api_adds_the_series_and_keeps_its_keys(function):
    client = Client()
    client.force_login(function.owner)
    stored(function, datetime.now(UTC) - timedelta(seconds=1))
    body = client.get(f"/api/functions/{function.slug}/metrics?period=60").json()
    assert {"function", "lanes", "counts", "concurrency", "duration_ms", "series"} <= set(body)
    assert body["period"] == 60
    assert set(body["series"]) == set(METRICS)
    assert len(body["series"]["Invocations"]) == 60
    assert sum(p["value"] for p in body["series"]["Invocations"]) == 1
    assert set(body["series"]["Duration"][-1]) == {"t", "avg", "p50", "p99", "max"}
    assert set(body["series"]["ConcurrentExecutions"][-1]) == {"t", "max"}

    short = client.get(f"/api/functions/{function.slug}/metrics?period=10&range=60").json()
    assert len(short["series"]["Throttles"]) == 6


@pytest.mark.parametrize(
    "query, message",
    [
        ("period=0", "period:"),
        ("period=1&range=86400", "period:"),
        ("period=60&range=30", "range:"),
        ("period=abc", "period"),
    ],
)
def test_the_api_refuses_a_window_it_cannot_answer(function, query, message):
    client = Client()
    client.force_login(function.owner)
    response = client.get(f"/api/functions/{function.slug}/metrics?{query}")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_the_monitor_tab_and_its_data_are_the_owners_alone(function):
    owner = Client()
    owner.force_login(function.owner)
    page = owner.get(f"/functions/{function.slug}/monitor/").content.decode()
    assert f'data-series-url="/functions/{function.slug}/monitor/series.json"' in page
    assert f'aria-current="page" href="/functions/{function.slug}/monitor/"' in page
    assert page.count('role="img"') == len(METRICS)  # each chart an image, described by its sentence
    body = owner.get(f"/functions/{function.slug}/monitor/series.json?period=10&range=600").json()
    assert (body["period"], body["range"], len(body["series"]["Invocations"])) == (10, 600, 60)
    refused = owner.get(f"/functions/{function.slug}/monitor/series.json?period=x")
    assert refused.status_code == 400 and refused.json()["error"].startswith("period:")

    stranger = Client()
    stranger.force_login(get_user_model().objects.create_user("eve", password="pw-eve-1"))
    assert stranger.get(f"/functions/{function.slug}/monitor/").status_code == 404
    assert stranger.get(f"/functions/{function.slug}/monitor/series.json").status_code == 404
    assert Client().get(f"/functions/{function.slug}/monitor/series.json").status_code == 404


def test_the_openapi_document_describes_the_series_and_power_tuning(function):
    client = Client()
    client.force_login(function.owner)
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/functions/{slug}/power-tunings"]) == {"post"}
    assert set(paths["/api/functions/{slug}/power-tunings/{run_id}"]) == {"get"}
    assert set(paths["/api/functions/{slug}/power-tunings/{run_id}/stop"]) == {"post"}
    parameters = {p["name"] for p in paths["/api/functions/{slug}/metrics"]["get"]["parameters"]}
    assert {"period", "range", "version", "load_test"} <= parameters
    assert set(schema["components"]["schemas"]["MetricSeries"]["properties"]) == set(METRICS)
