"""Server-side fixes of the UX defects found in class (issue 16): the default function name, the
runtime named per mode, the log pane's last runs and its display cap, the load form keeping its
values, the timeline window fitting the burst, cold starts labelled by who served them, the
trigger rows polling, and daphne started with the WebSocket limit the 6 MB events need."""

import json
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from config.static_files import PYODIDE_DIR
from sandbox.models import EnvironmentRecord, Function, Invocation, LoadTest
from sandbox.web.log_display import DISPLAY_LINES_CAP, StreamedLog, visible_log_lines
from sandbox.web.metrics import function_metrics
from sandbox.web.presenters import RUNS_KEPT

pytestmark = pytest.mark.django_db

REQUEST_ID = "8f0c5bd2-3a61-4c57-9b0e-7d1c2b3a4f5e"
START = f"START RequestId: {REQUEST_ID} Version: $LATEST"
END = f"END RequestId: {REQUEST_ID}"
REPORT = f"REPORT RequestId: {REQUEST_ID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms"
TIMEOUT = f"2025-11-29T10:00:03.000Z {REQUEST_ID} Task timed out after 3.00 seconds"


@pytest.fixture
def owner():
    user = get_user_model().objects.create(username="ada")
    client = Client()
    client.force_login(user)
    return user, client


def flood_log(lines):
    return [START, *[f"line {n}" for n in range(lines)], END, REPORT, TIMEOUT]


# ---------------------------------------------------------------- the home page
def test_an_empty_function_name_takes_the_default_the_field_shows(owner):
    user, client = owner
    home = client.get("/").content.decode()
    field = re.search(r'<input name="name"[^>]*>', home).group(0)
    assert "required" not in field, "an empty name must reach the server"
    assert 'placeholder="hello-world"' in field
    response = client.post("/functions/new", {"name": "   "})
    function = Function.objects.get(owner=user)
    assert function.name == "hello-world"
    assert response.status_code == 302 and response["Location"] == function.get_absolute_url()


# ---------------------------------------------------------------- the playground page
def test_the_header_names_the_python_of_each_run_mode(owner):
    user, client = owner
    function = Function.objects.create(owner=user, name="versions")
    html = client.get(function.get_absolute_url()).content.decode()
    server = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f'<span class="server-only" data-python="{server}">Python {server}</span>' in html
    browser = re.search(r'<span class="browser-only" data-python="([\d.]*)">([^<]*)</span>', html)
    assert browser, "the browser mode's Python is missing from the header"
    lock = settings.BASE_DIR / "static" / PYODIDE_DIR / "pyodide-lock.json"
    expected = ".".join(json.loads(lock.read_text())["info"]["python"].split(".")[:2])
    assert browser.groups() == (expected, f"Python {expected} in Pyodide")
    assert "Python 3.11 ·" not in html.replace(f"Python {server}", ""), "a hard-coded version is left"


def test_the_page_gives_its_script_the_payload_and_websocket_limits(owner):
    user, client = owner
    function = Function.objects.create(owner=user, name="limits")
    html = client.get(function.get_absolute_url()).content.decode()
    script = re.search(r'<script id="function-limits" type="application/json">(.*?)</script>', html)
    limits = json.loads(script.group(1))
    assert limits["payload_bytes"] == settings.SANDBOX["PAYLOAD_BYTES"]
    # An event at the limit, JSON-escaped into the message (at most twice as long), still fits.
    assert limits["websocket_message_bytes"] >= 2 * settings.SANDBOX["PAYLOAD_BYTES"]


def make_invocation(function, n, lines, **fields):
    values = {
        "status": "ok", "cold": n == 0, "init_duration_ms": 80.0 if n == 0 else None, "duration_ms": 1.5 + n,
        "billed_duration_ms": 82 if n == 0 else 2 + n, "memory_size_mb": 128, "max_memory_used_mb": 7,
        "logs": "\n".join(lines), "created": timezone.now() - timedelta(seconds=60 - n),
        "finished": timezone.now(),
    }
    values.update(fields)
    return Invocation.objects.create(function=function, **values)


def test_the_log_pane_keeps_the_last_runs_oldest_first_only_the_newest_open(owner):
    user, client = owner
    function = Function.objects.create(owner=user, name="runs")
    made = [make_invocation(function, n, [f"run {n}"]) for n in range(RUNS_KEPT + 2)]
    html = client.get(function.get_absolute_url()).content.decode()
    runs = re.findall(r'<details class="log-run" data-request-id="([0-9a-f-]+)"( open)?>', html)
    kept = [str(inv.request_id) for inv in made[-RUNS_KEPT:]]
    assert [request_id for request_id, _ in runs] == kept
    assert [bool(is_open) for _, is_open in runs] == [False] * (RUNS_KEPT - 1) + [True]
    assert html.count('id="log-lines"') == 1
    # Each finished run's heading carries its REPORT figures, for the side-by-side comparison.
    first = re.search(rf'<summary class="run-head" id="run-head-{kept[0]}"[^>]*>', html).group(0)
    assert 'data-duration-ms="3.500000"' in first and 'data-billed-ms="4"' in first
    assert 'data-init-ms' not in first, "a warm run has no Init Duration"


def test_past_the_display_cap_the_page_still_shows_end_report_and_the_timeout_line(owner):
    user, client = owner
    function = Function.objects.create(owner=user, name="flood")
    make_invocation(function, 0, flood_log(DISPLAY_LINES_CAP + 500), status="timeout")
    html = client.get(function.get_absolute_url()).content.decode()
    assert f">line {DISPLAY_LINES_CAP - 2}<" in html  # the first lines...
    assert f">line {DISPLAY_LINES_CAP + 10}<" not in html  # ...up to the cap
    for line in (END, TIMEOUT):
        assert f">{line}<" in html
    assert ">REPORT RequestId: " in html
    assert "501 more lines not shown here" in html  # START and lines 0..1998 were shown


def test_the_cap_keeps_platform_lines_when_finished_and_while_streaming():
    lines = flood_log(30)
    shown = visible_log_lines(lines, cap=10)
    assert shown[:10] == lines[:10]
    assert shown[-3:] == [END, REPORT, TIMEOUT]
    assert "21 more lines not shown here" in shown[10]  # START and lines 0..8 were shown

    streamed = StreamedLog(cap=10)
    sent = streamed.feed(0, lines[:20]) + streamed.feed(20, lines[20:])
    assert sent[:10] == lines[:10]
    assert sent[-3:] == [END, REPORT, TIMEOUT]
    assert sum("Display limit" in line for line in sent) == 1
    assert streamed.hidden == 21 and not streamed.gap
    late = StreamedLog(cap=10)  # a first batch starting late is a lost batch
    late.feed(5, lines[5:8])
    assert late.gap  # the stored log is shown at the end instead


# ---------------------------------------------------------------- the scaling page
def load_form(html):
    return {
        name: re.search(rf'<input type="number" name="{name}" value="([^"]*)"', html).group(1)
        for name in ("requests", "concurrency", "rate", "seconds")
    } | {
        "rate_checked": 'value="rate" checked' in html,
        "event": re.search(r'<textarea name="event"[^>]*>([^<]*)</textarea>', html).group(1),
    }


def test_the_load_form_shows_what_was_run_and_what_was_typed_after_an_error(owner):
    user, client = owner
    function = Function.objects.create(owner=user, name="load")
    first = LoadTest.objects.create(
        function=function, requests=12, concurrency=3, event='{"n":1}', status="finished"
    )
    LoadTest.objects.create(function=function, mode="rate", rate=7, seconds=4, status="finished")
    url = f"/functions/{function.slug}/scale/"

    latest = load_form(client.get(url).content.decode())
    assert latest["rate_checked"] and (latest["rate"], latest["seconds"]) == ("7", "4")
    shown = load_form(client.get(f"{url}?load_test={first.pk}").content.decode())
    assert not shown["rate_checked"]
    assert (shown["requests"], shown["concurrency"], shown["event"]) == ("12", "3", "{&quot;n&quot;:1}")

    typed = {"mode": "count", "requests": "999999", "concurrency": "4", "rate": "2", "seconds": "3"}
    typed["event"] = "[1]"
    response = client.post(f"/functions/{function.slug}/scale/load", typed)
    assert response.status_code == 400
    kept = load_form(response.content.decode())
    assert (kept["requests"], kept["concurrency"], kept["rate"], kept["event"]) == ("999999", "4", "2", "[1]")


def test_the_timeline_window_fits_the_burst_not_the_oldest_environment(owner):
    user, client = owner
    function = Function.objects.create(owner=user, name="burst")
    t0 = timezone.now() - timedelta(minutes=5)
    burst = t0 + timedelta(minutes=4)  # a 1 s burst 4 minutes after the warm environment started
    EnvironmentRecord.objects.create(
        function=function, name="old", started=t0, ready=t0 + timedelta(seconds=0.1)
    )
    EnvironmentRecord.objects.create(function=function, name="new", started=burst + timedelta(seconds=0.2))
    load = LoadTest.objects.create(function=function, started=burst, finished=burst + timedelta(seconds=1.2),
                                   status="finished")
    for name, offset, cold in (("old", 0.1, False), ("new", 0.3, True), ("old", 0.6, False)):
        Invocation.objects.create(
            function=function, load_test=load, status="ok", cold=cold, environment_name=name,
            created=burst + timedelta(seconds=offset), duration_ms=400.0, provisioned=False,
            init_duration_ms=100.0 if cold else None,
            finished=burst + timedelta(seconds=offset + (0.5 if cold else 0.4)),
        )

    metrics = function_metrics(function, load)
    assert metrics["window"]["from"] == 0.0
    assert metrics["window"]["to"] == pytest.approx(1000, abs=1)  # the last invocation's end
    lanes = {lane["environment"]: lane for lane in metrics["lanes"]}
    assert lanes["old"]["from"] == 0.0 and lanes["old"]["started_before"]
    assert not lanes["new"]["started_before"]
    for lane in metrics["lanes"]:
        for segment in lane["segments"]:
            assert 0 <= segment["from"] <= segment["to"] <= metrics["window"]["to"]
    counts = metrics["counts"]
    assert (counts["cold_starts_on_demand"], counts["cold_starts_provisioned"]) == (1, 0)


def test_cold_starts_are_counted_by_who_served_them(owner):
    user, _ = owner
    function = Function.objects.create(owner=user, name="provisioned")
    now = timezone.now()
    for n, (cold, provisioned) in enumerate([(True, False), (True, False), (False, True), (False, True)]):
        Invocation.objects.create(
            function=function, status="ok", cold=cold, provisioned=provisioned, duration_ms=5.0,
            created=now - timedelta(seconds=n), finished=now - timedelta(seconds=n, milliseconds=-5),
        )
    counts = function_metrics(function)["counts"]
    assert counts["cold_starts"] == 2
    assert (counts["cold_starts_on_demand"], counts["cold_starts_provisioned"]) == (2, 0)
    assert counts["provisioned_invocations"] == 2


# ---------------------------------------------------------------- the triggers page
@pytest.mark.parametrize("part", ["recent", "async"])
def test_trigger_rows_poll_and_only_a_change_is_sent_again(owner, part):
    from triggers.models import AsyncEvent

    user, client = owner
    function = Function.objects.create(owner=user, name="triggered")
    page = client.get(f"/functions/{function.slug}/triggers/").content.decode()
    poll = re.search(rf'hx-get="(/functions/{function.slug}/triggers/\?part={part}&amp;seen=\w+)" '
                     r'hx-trigger="every 2s" hx-swap="outerHTML"', page)
    assert poll, f"the {part} rows do not poll"
    url = poll.group(1).replace("&amp;", "&")
    assert client.get(url).status_code == 204  # nothing changed: nothing swapped

    if part == "recent":
        row = Invocation.objects.create(function=function, trigger="bucket", status="queued")
    else:
        row = AsyncEvent.objects.create(function=function, trigger="bucket", event="{}")
    changed = client.get(url)
    assert changed.status_code == 200 and 'status-queued">' in changed.content.decode()
    again = re.search(r'hx-get="([^"]+)"', changed.content.decode()).group(1).replace("&amp;", "&")
    assert client.get(again).status_code == 204

    row.status = "ok" if part == "recent" else "running"
    row.save()
    fresh = client.get(again).content.decode()
    assert (">ok<" in fresh) if part == "recent" else ("attempt 1 running" in fresh)


# ---------------------------------------------------------------- starting the server
def test_the_server_command_takes_the_websocket_limit_from_the_settings():
    from config.serve import command_line

    args = command_line().parser.parse_args(["config.asgi:application"])
    assert args.websocket_max_message_size == settings.WEBSOCKET_MAX_MESSAGE_BYTES
    assert args.websocket_max_frame_size == settings.WEBSOCKET_MAX_MESSAGE_BYTES
    assert settings.DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE == settings.WEBSOCKET_MAX_MESSAGE_BYTES  # runserver
    explicit = command_line().parser.parse_args(
        ["--websocket-max-message-size", "5", "config.asgi:application"]
    )
    assert explicit.websocket_max_message_size == 5


def test_no_template_comment_spans_lines():
    """Django's {# #} ends at the line's end: one that spans lines is shown on the page as text."""
    templates = Path(__file__).resolve().parent.parent / "templates"
    spanning = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "{#" in line and "#}" not in line.split("{#", 1)[1]
    ]
    assert spanning == [], "use {% comment %} for these: " + ", ".join(spanning)
