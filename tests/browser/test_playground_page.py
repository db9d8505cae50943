"""The playground page in Chromium against a real daphne server: create a function, edit it in
CodeMirror, invoke it over the WebSocket and watch logs stream, results, cold/warm, errors."""

import re
import textwrap

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FIRST_SLEEP_SECOND = textwrap.dedent(
    """
    import time

    def handler(event, context):
        print("first")
        time.sleep(1.5)
        print("second")
        return {"said": ["first", "second"]}
    """
).lstrip()

RAISES_BOOM = textwrap.dedent(
    """
    def handler(event, context):
        raise ValueError("boom")
    """
).lstrip()


def new_function(page, name):
    """Create a function from the home page's form; return once the page's socket is live."""
    page.goto("/")
    page.get_by_label("New function name").fill(name)
    page.get_by_role("button", name="New function").click()
    page.wait_for_url(re.compile(r"/functions/[\w-]+/$"))
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("#connection[data-state=open]")).to_be_visible()


def set_editor(page, selector, text):
    page.evaluate(
        "([selector, text]) => window.ColdstartEditor.setValue(document.querySelector(selector), text)",
        [selector, text],
    )


def log_line(page, text):
    return page.locator("#log-lines .log-line").filter(has_text=re.compile(rf"^{re.escape(text)}$"))


def history_rows(page):
    return page.locator("#history a.history-row")


def test_logs_stream_while_the_handler_runs_then_a_cold_start_and_a_warm_one(page, artifacts):
    new_function(page, "streaming")
    set_editor(page, "#code", FIRST_SLEEP_SECOND)
    page.locator("#invoke-btn").click()

    expect(log_line(page, "first")).to_be_visible()
    assert "second" not in page.locator("#log-lines").inner_text(), "the log arrived all at once"
    expect(page.locator("#invoke-btn")).to_be_disabled()
    page.screenshot(path=artifacts / "playground-streaming.png", full_page=True)

    expect(page.locator("#log-lines .log-report")).to_be_visible()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible()
    expect(page.locator("#result-panel .badge-cold")).to_be_visible()
    expect(log_line(page, "second")).to_be_visible()
    assert "Init Duration:" in page.locator("#log-lines .log-report").inner_text()
    expect(page.locator("#result-panel .response")).to_contain_text('"first"')
    expect(history_rows(page)).to_have_count(1)
    page.screenshot(path=artifacts / "playground-after-run.png", full_page=True)

    page.locator("#invoke-btn").click()  # waits until the button is enabled again
    expect(page.locator("#result-panel[data-status=ok] .badge-warm")).to_be_visible(timeout=20_000)
    expect(page.locator("#result-panel .badge-cold")).to_have_count(0)
    expect(log_line(page, "first")).to_have_count(1)  # the log shows this invocation only
    assert "Init Duration:" not in page.locator("#log-lines .log-report").inner_text()
    expect(history_rows(page)).to_have_count(2)
    page.screenshot(path=artifacts / "playground-warm.png", full_page=True)


def test_a_handler_that_raises_shows_the_error_type_and_message(page, artifacts):
    new_function(page, "raises")
    set_editor(page, "#code", RAISES_BOOM)
    page.locator("#invoke-btn").click()

    panel = page.locator("#result-panel[data-status=error]")
    expect(panel).to_be_visible()
    expect(panel.locator(".error-type")).to_have_text("ValueError")
    expect(panel.locator(".error-message")).to_have_text("boom")
    expect(page.locator("#log-lines")).to_contain_text("[ERROR] ValueError: boom")
    expect(page.locator("#log-lines .log-report")).to_be_visible()
    page.screenshot(path=artifacts / "playground-error.png", full_page=True)


def test_an_invalid_event_is_flagged_inline_and_nothing_runs(page, artifacts):
    new_function(page, "bad-event")
    expect(history_rows(page)).to_have_count(0)

    set_editor(page, "#event", '{"name": "Ada",')
    expect(page.locator("#event-error")).to_contain_text("not valid JSON")
    page.locator("#invoke-btn").click()
    page.screenshot(path=artifacts / "playground-event-error.png", full_page=True)

    # Fix the event and invoke: exactly one invocation shows up, so the click above ran nothing.
    set_editor(page, "#event", '{"name": "Ada"}')
    expect(page.locator("#event-error")).to_be_empty()
    page.locator("#invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible()
    expect(history_rows(page)).to_have_count(1)
