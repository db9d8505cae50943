"""The playground's WebSocket, driven through the real ASGI application (origin check, session
auth, URL routing) with the embedded sandbox worker running real sandboxed handlers."""

import asyncio
import re
import textwrap

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application
from sandbox.models import Function, Invocation
from tests.playground_support import embedded_worker

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED_PANEL = re.compile(r'<section id="result-panel"[^>]*data-status="([a-z]+)"')

ONE_TWO_THREE = """
import time

def handler(event, context):
    print("one")
    time.sleep(0.2)
    print("two")
    time.sleep(0.2)
    print("three")
    return {"done": True}
"""

HELLO = """
def handler(event, context):
    print("hello", event.get("name"))
    return {"echo": event}
"""

SCRIPT_TAG = "<script>alert(1)</script>"

PRINTS_A_SCRIPT_TAG = f"""
def handler(event, context):
    print({SCRIPT_TAG!r})
    return {{"html": {SCRIPT_TAG!r}}}
"""


@pytest.fixture
async def worker_session(transactional_db, settings):
    async with embedded_worker(settings):
        yield


@sync_to_async
def learner_with_function(username, code=HELLO):
    """A user, one function of theirs, and the session key of a signed-in browser."""
    user = get_user_model().objects.create_user(username=username)
    function = Function.objects.create(owner=user, name=f"{username}-fn", code=textwrap.dedent(code))
    browser = Client()
    browser.force_login(user)
    return function, browser.cookies[django_settings.SESSION_COOKIE_NAME].value


def socket_for(function, session_key=None):
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
    if session_key:
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, f"/ws/functions/{function.slug}/", headers=headers)


def invoke_message(code, event="{}", memory_mb="128", **fields):
    """What the page's form sends on ▶ Invoke (htmx ws-send with hx-include="#function-form")."""
    message = {
        "action": "invoke",
        "code": textwrap.dedent(code),
        "event": event,
        "memory_mb": memory_mb,
        "timeout_s": "3",
        "handler": "handler",
        "environment": "",
    }
    message.update(fields)
    return message


async def receive_until(communicator, predicate, timeout=20.0):
    """Frames up to and including the first one `predicate` accepts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    frames = []
    while True:
        remaining = deadline - loop.time()
        try:
            frame = await communicator.receive_from(timeout=max(remaining, 0.05))
        except TimeoutError:
            raise AssertionError(f"no expected frame within {timeout} s; received: {frames}") from None
        frames.append(frame)
        if predicate(frame):
            return frames


async def run_to_completion(communicator, message):
    """Send an invocation; return its frames up to the finished result panel, and its status."""
    await communicator.send_json_to(message)
    frames = await receive_until(communicator, FINISHED_PANEL.search)
    status = FINISHED_PANEL.search(frames[-1]).group(1)
    # Then the buttons come back enabled: the invocation is over for the page too.
    await receive_until(communicator, lambda f: 'id="actions"' in f and "disabled" not in f, timeout=5)
    return frames, status


@sync_to_async
def invocation_count(function):
    return Invocation.objects.filter(function=function).count()


async def test_invoking_streams_the_handlers_log_lines_in_order_then_the_result_panel(worker_session):
    function, session = await learner_with_function("ada", ONE_TWO_THREE)
    communicator = socket_for(function, session)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    try:
        frames, status = await run_to_completion(communicator, invoke_message(ONE_TWO_THREE))
    finally:
        await communicator.disconnect()

    assert status == "ok"
    log_frames = [f for f in frames if f.startswith('<div id="log-lines" hx-swap-oob="beforeend">')]
    streamed = "".join(log_frames)
    positions = [
        streamed.find(f'<div class="log-line log-output" data-level="INFO">{word}</div>')
        for word in ("one", "two", "three")
    ]
    assert -1 not in positions, f"missing handler lines in the streamed fragments: {log_frames}"
    assert positions == sorted(positions)
    # Streamed while the handler ran, not all at once at the end: "one" and "three" came in
    # different frames (the handler sleeps 0.2 s between them), both before the result panel.
    first_with = {w: next(i for i, f in enumerate(frames) if f">{w}</div>" in f) for w in ("one", "three")}
    assert first_with["one"] < first_with["three"] < len(frames) - 1
    assert "START RequestId:" in streamed and "REPORT RequestId:" in streamed
    panel = frames[-1]
    assert 'class="badge badge-cold"' in panel
    assert "&quot;done&quot;: true" in panel


async def test_a_function_of_another_user_is_refused_at_connect(worker_session):
    _, session_of_ada = await learner_with_function("ada")
    function_of_bob, _ = await learner_with_function("bob")
    communicator = socket_for(function_of_bob, session_of_ada)
    connected, code = await communicator.connect(timeout=5)
    assert not connected
    assert code == 4403


async def test_a_visitor_without_a_session_is_refused_at_connect(worker_session):
    function, _ = await learner_with_function("ada")
    communicator = socket_for(function, session_key=None)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_bad_messages_get_an_error_fragment_and_the_socket_stays_usable(worker_session):
    function, session = await learner_with_function("ada")
    communicator = socket_for(function, session)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    try:
        await communicator.send_to(text_data="this is not JSON")
        (frame,) = await receive_until(communicator, lambda f: True, timeout=5)
        assert 'id="notice"' in frame and "notice-error" in frame

        await communicator.send_json_to({"action": "explode"})
        (frame,) = await receive_until(communicator, lambda f: True, timeout=5)
        assert 'id="notice"' in frame and "notice-error" in frame and "explode" in frame

        await communicator.send_json_to(invoke_message(HELLO, event='{"name": "Ada",'))
        (frame,) = await receive_until(communicator, lambda f: True, timeout=5)
        assert 'id="event-error"' in frame and "not valid JSON" in frame

        await communicator.send_json_to(invoke_message(HELLO, memory_mb="99"))
        (frame,) = await receive_until(communicator, lambda f: True, timeout=5)
        assert 'id="notice"' in frame and "notice-error" in frame and "99" in frame

        assert await communicator.receive_nothing(timeout=0.3)
        assert await invocation_count(function) == 0, "a bad message started an invocation"

        frames, status = await run_to_completion(communicator, invoke_message(HELLO, event='{"name": "Ada"}'))
    finally:
        await communicator.disconnect()
    assert status == "ok"
    assert any('<div class="log-line log-output" data-level="INFO">hello Ada</div>' in f for f in frames)
    assert await invocation_count(function) == 1


async def runs_of(code, times=1):
    """A learner's function with `code`, invoked `times` from its page: each run's frames and status."""
    function, session = await learner_with_function("ada", code)
    communicator = socket_for(function, session)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    try:
        return [await run_to_completion(communicator, invoke_message(code)) for _ in range(times)]
    finally:
        await communicator.disconnect()


async def test_handler_output_arrives_html_escaped(worker_session):
    ((frames, status),) = await runs_of(PRINTS_A_SCRIPT_TAG)
    assert status == "ok"
    received = "".join(frames)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in received
    assert "<script" not in received.lower(), "handler output reached the page as markup"


PRINTS_PAST_THE_DISPLAY_CAP = """
def handler(event, context):
    for n in range(2300):
        print("line", n)
    return {"printed": 2300}
"""


async def test_past_the_display_cap_end_and_report_still_reach_the_page(worker_session):
    ((frames, status),) = await runs_of(PRINTS_PAST_THE_DISPLAY_CAP)
    assert status == "ok"
    received = "".join(frames)
    assert ">line 1990</div>" in received and ">line 2100</div>" not in received
    assert "Display limit: only the first 2000 lines are shown here" in received
    assert re.search(r'<div class="log-line log-platform"[^>]*>END RequestId: [0-9a-f-]+</div>', received)
    report = r'<div class="log-line log-report"[^>]*>REPORT RequestId: [0-9a-f-]+\tDuration'
    assert re.search(report, received)
    assert "more lines not shown here" in received


async def test_each_invocation_opens_a_run_in_the_log_pane_and_its_heading_gets_the_report(worker_session):
    (first, _), (second, _) = await runs_of(HELLO, times=2)
    ids = []
    for frames, cold in ((first, "1"), (second, "0")):
        started = next(f for f in frames if 'hx-swap-oob="beforeend:#log-runs"' in f)
        run = re.search(r'<details class="log-run" data-request-id="([0-9a-f-]+)" open>', started)
        request_id = run.group(1)
        ids.append(request_id)
        assert '<div class="log" id="log-lines">' in started
        heading = rf'<summary class="run-head" id="run-head-{request_id}" data-status="ok"[^>]*>'
        head = re.search(heading, frames[-1])
        assert head, "the finished run's heading was not sent"
        assert f'data-cold="{cold}"' in head.group(0) and "data-billed-ms=" in head.group(0)
        assert ("data-init-ms=" in head.group(0)) == (cold == "1")
    assert ids[0] != ids[1]


async def test_a_draft_is_saved_quietly_runs_nothing_and_a_bad_one_changes_nothing(worker_session):
    function, session = await learner_with_function("drafter")
    communicator = socket_for(function, session)
    connected, _ = await communicator.connect()
    assert connected
    edited = "def handler(event, context):\n    return 'edited while typing'\n"
    await communicator.send_json_to({"action": "draft", "code": edited, "handler": "handler"})
    frames = await receive_until(communicator, lambda f: 'id="draft-state"' in f, timeout=10)
    assert "Draft saved" in frames[-1]
    reloaded = await sync_to_async(Function.objects.get)(pk=function.pk)
    assert reloaded.code == edited  # a reload of the page shows the edit
    assert await invocation_count(function) == 0
    # A draft that is not valid configuration is not saved (Invoke will say why).
    await communicator.send_json_to({"action": "draft", "code": "broken", "handler": "not a name"})
    await communicator.send_json_to({"action": "draft", "code": edited + "# again\n", "handler": "handler"})
    await receive_until(communicator, lambda f: 'id="draft-state"' in f, timeout=10)  # both handled
    after = await sync_to_async(Function.objects.get)(pk=function.pk)
    assert after.handler == "handler" and after.code == edited + "# again\n"
    await communicator.disconnect()


async def versions_reply(communicator):
    """The re-rendered versions bar (with the picker), then the notice that follows it."""
    frames = await receive_until(communicator, lambda f: 'id="notice"' in f)
    (bar,) = [f for f in frames if 'id="versions-bar"' in f]
    return bar, frames[-1]


async def test_publish_then_alias_then_invoke_by_alias_shows_the_version_and_json_logs(worker_session):
    function, session = await learner_with_function("ada", HELLO)
    communicator = socket_for(function, session)
    connected, _ = await communicator.connect()
    assert connected
    try:
        await communicator.send_json_to(dict(invoke_message(HELLO), action="publish"))
        bar, notice = await versions_reply(communicator)
        assert "Published version 1" in notice
        assert '<span class="tag"' in bar and "v1</span>" in bar
        assert '<option value="1">version 1</option>' in bar, "the picker offers the new version"

        changed = HELLO.replace('"hello"', '"bonjour"')
        logging_fields = {"log_format": "JSON", "application_log_level": "INFO", "system_log_level": "INFO"}
        await communicator.send_json_to(dict(invoke_message(changed, **logging_fields), action="publish"))
        bar, _ = await versions_reply(communicator)
        assert "v2</span>" in bar

        alias = {
            "action": "alias_put",
            "alias_name": "live",
            "alias_version": "1",
            "alias_extra_version": "2",
        }
        await communicator.send_json_to(dict(alias, alias_weight="100"))
        bar, notice = await versions_reply(communicator)
        assert "Alias live created: version 1, 100 % to version 2" in notice
        assert 'data-alias="live"' in bar

        frames, status = await run_to_completion(
            communicator, invoke_message(changed, event='{"name": "Ada"}', qualifier="live", **logging_fields)
        )
        assert status == "ok"
        assert any('data-version="2"' in f and "live → v2" in f for f in frames), "the log title names it"
        assert any("platform.start  RequestId:" in f and "Version: 2" in f for f in frames)
        assert any('<span class="log-raw">{&quot;time&quot;:' in f for f in frames), "raw JSON kept beside"
        stored = await Invocation.objects.aget(function=function)
        assert (stored.qualifier, stored.executed_version) == ("live", "2")

        await communicator.send_json_to({"action": "alias_put", "alias_name": "9", "alias_version": "1"})
        (frame,) = await receive_until(communicator, lambda f: True, timeout=5)
        assert "notice-error" in frame and "not only digits" in frame

        await communicator.send_json_to(dict(invoke_message(changed), qualifier="nope"))
        frames = await receive_until(communicator, lambda f: 'id="notice"' in f, timeout=5)
        assert "notice-error" in frames[-1] and "Alias not found" in frames[-1]

        await communicator.send_json_to({"action": "alias_delete", "alias_name": "live"})
        bar, _ = await versions_reply(communicator)
        assert 'data-alias="live"' not in bar
        assert await invocation_count(function) == 1
    finally:
        await communicator.disconnect()
