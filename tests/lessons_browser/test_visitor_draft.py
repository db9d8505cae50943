"""A visitor who is not signed in reads a step and edits a draft of the starter; their first
Invoke makes the guest learner and runs the draft, and the playground is theirs from then on."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SIZES = [(1366, 900), (1280, 720), (390, 844)]


def test_a_visitor_reads_the_step_then_invokes_the_draft_and_gets_a_playground(new_page, artifacts):
    for width, height in SIZES:
        visitor = new_page(width, height)
        visitor.goto("/lessons/first-function/1/")
        frame = visitor.frame_locator("#playground-frame")
        expect(frame.locator('.playground[data-draft="true"]')).to_be_attached()
        expect(frame.locator("#invoke-btn")).to_be_visible()
        expect(visitor.locator("body[data-playground=ready]")).to_be_attached()
        assert not [c for c in visitor.context.cookies() if c["name"] == "sessionid"]
        visitor.screenshot(path=str(artifacts / f"visitor-step-draft-{width}.png"))

    frame.locator("#code").evaluate(
        "(el) => window.ColdstartEditor.setValue(el, el.value.replace('def handler', "
        "'print(\"cold import\")\\n\\ndef handler'))"
    )
    frame.locator("#event").evaluate("(el) => window.ColdstartEditor.setValue(el, '{\"name\": \"Ada\"}')")
    frame.locator("#invoke-btn").click()
    visitor.wait_for_url(re.compile(r"/lessons/first-function/1/$"))
    frame = visitor.frame_locator("#playground-frame")
    expect(frame.locator("#connection[data-state=open]")).to_be_attached()
    expect(frame.locator("#log-lines")).to_contain_text("cold import")
    expect(frame.locator("#log-lines")).to_contain_text(re.compile(r"REPORT RequestId: .*Init Duration"))
    assert [c for c in visitor.context.cookies() if c["name"] == "sessionid"]

    # The playground now works over the WebSocket, and Check works without a reload.
    frame.locator("#invoke-btn").click()
    expect(frame.locator("#history a.history-row")).to_have_count(2)
    visitor.get_by_role("button", name="Check").click()
    expect(visitor.locator("#check-result .check-fail, #check-result .check-pass")).to_be_visible()
    visitor.screenshot(path=str(artifacts / "visitor-step-after-invoke.png"))


def test_a_visitors_first_check_makes_the_guest_and_shows_the_result(new_page, artifacts):
    visitor = new_page(1366, 900)
    visitor.goto("/lessons/first-function/1/")
    expect(visitor.locator("body[data-playground=ready]")).to_be_attached()
    visitor.get_by_role("button", name="Check").click()
    visitor.wait_for_load_state()
    failure = visitor.locator("#check-result .check-fail")
    expect(failure).to_contain_text("Last check")
    expect(failure).to_contain_text("Hint:")
    frame = visitor.frame_locator("#playground-frame")
    expect(frame.locator("#connection[data-state=open]")).to_be_attached()
    visitor.screenshot(path=str(artifacts / "visitor-step-after-check.png"))
