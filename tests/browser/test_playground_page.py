"""The playground page in Chromium against a real daphne server: create a function, edit it in
CodeMirror, invoke it over the WebSocket and watch logs stream, results, cold/warm, errors."""

import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import history_rows, log_line, new_function, set_editor

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
    error = page.locator("#event-error")
    expect(error).to_contain_text("not valid JSON")
    expect(error).not_to_contain_text("Invoke was not sent")  # while typing: only what is wrong
    page.locator("#invoke-btn").click()
    # Invoke says it did nothing, and takes the learner (and a screen reader) to why.
    expect(error).to_contain_text("Invoke was not sent")
    expect(error).to_be_focused()
    expect(error).to_be_in_viewport()
    page.screenshot(path=artifacts / "playground-event-error.png", full_page=True)

    # Fix the event and invoke: exactly one invocation shows up, so the click above ran nothing.
    set_editor(page, "#event", '{"name": "Ada"}')
    expect(page.locator("#event-error")).to_be_empty()
    page.locator("#invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible()
    expect(history_rows(page)).to_have_count(1)
