"""A server whose one concurrent execution another learner holds: the student's Check says plainly
that the server is busy and their code was not judged (no failing verdict, no hint, no attempt),
a wrong answer on a free server still fails with its hint, and a right one passes. Real server,
real sandbox, Chromium; screenshots of each result at 1366x900, 1280x720 and 390x844."""

import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.lessons_browser.conftest import INSTRUCTOR, page_factory
from tests.live_server import PROCESS_UID_BASE, LiveServer

pytestmark = pytest.mark.browser

SLOT_UID_BASE = PROCESS_UID_BASE + 36  # see tests/live_server.py
MAX_ENVIRONMENTS = 3
VIEWPORTS = {"desktop": (1366, 900), "projector": (1280, 720), "phone": (390, 844)}
BUSY = "The server is busy — your code was not judged."

HOG = textwrap.dedent(
    """
    import time
    def handler(event, context):
        print("holding the server")
        time.sleep(12)
        return "done"
    """
).lstrip()
GREET_BY_NAME = textwrap.dedent(
    """
    def handler(event, context):
        name = event.get("name", "world")
        return {"statusCode": 200, "body": f"Hello, {name}!"}
    """
).lstrip()


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """A server with one concurrent execution in its account, whose Checks wait 0.5 s for it."""
    live = LiveServer(tmp_path_factory.mktemp("busy-server"), SLOT_UID_BASE, MAX_ENVIRONMENTS)
    live.env.update(ACCOUNT_CONCURRENCY="1", CHECK_WAIT_S="0.5")
    live.prepare_lessons(INSTRUCTOR)
    live.start()
    try:
        yield live.url
    finally:
        live.stop_and_sweep()


@pytest.fixture
def pages(chromium, small_server):
    with page_factory(chromium, small_server, 1366, 900, 30_000) as make:
        yield make


def screenshots(page, locator, name, artifacts):
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        locator.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"check-{name}-{size}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_busy_server_is_said_plainly_and_a_wrong_or_right_answer_still_judged(pages, artifacts):
    student = pages()
    student.goto("/lessons/first-function/1/")
    expect(student.locator("body[data-playground=ready]")).to_be_attached()
    student.get_by_role("button", name="Check").click()  # begins the step: the page reloads
    expect(student.locator("#check-result .check-fail")).to_be_visible()
    student.get_by_role("button", name="Check").click()
    failure = student.locator("#check-result .check-fail")
    expect(failure).to_contain_text("Not yet")
    expect(failure).to_contain_text("Hint:")
    screenshots(student, failure, "fail", artifacts)

    # Another learner's invocation holds the server's one concurrent execution for 12 s.
    other = pages()
    other.goto("/")
    other.fill("input[name=name]", "hog")
    other.click("text=New function")
    other.wait_for_selector("#connection[data-state=open]")
    other.evaluate("src => window.ColdstartEditor.setValue(document.querySelector('#code'), src)", HOG)
    other.fill("input[name=timeout_s]", "20")
    other.click("#invoke-btn")
    expect(other.locator("#log-lines")).to_contain_text("holding the server")

    student.get_by_role("button", name="Check").click()
    busy = student.locator("#check-result .check-busy")
    expect(busy).to_contain_text(BUSY, timeout=20_000)  # three tries, 1 s and 2 s apart
    expect(busy).to_contain_text("every concurrent execution of the server was in use")
    assert student.locator("#check-result .check-fail").count() == 0
    assert "Hint" not in student.locator("#check-result").inner_text()
    screenshots(student, busy, "busy", artifacts)

    # The server is free again: the right answer passes.
    expect(other.locator("#result-panel[data-status=ok]")).to_be_attached(timeout=30_000)
    frame = student.frame_locator("#playground-frame")
    frame.locator("#code").evaluate("(el, code) => window.ColdstartEditor.setValue(el, code)", GREET_BY_NAME)
    student.get_by_role("button", name="Check").click()
    passed = student.locator("#check-result .check-pass")
    expect(passed).to_contain_text("Passed")
    expect(student.locator(".step-nav li").nth(0)).to_have_class(re.compile("passed"))
    screenshots(student, passed, "pass", artifacts)
