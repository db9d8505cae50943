"""Predict, then observe, and staged hints, in Chromium against a real server and sandbox: the
prediction is locked in before the first Check, shown beside the measured answer, and the hints
grow one stage per failure, the code last."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 900), "projector": (1280, 720), "phone": (390, 844)}


def test_a_prediction_is_required_then_shown_beside_the_measured_answer(new_page, artifacts):
    page = new_page(*SIZES["desktop"])
    page.goto("/lessons/cold-starts/1/")
    expect(page.locator("#predict-box")).to_contain_text("How many of them will be cold starts?")
    expect(page.locator("body[data-playground=ready]")).to_be_attached()

    # Check before predicting runs nothing and asks for the prediction (a visitor's first Check
    # makes their guest learner and reloads the step first).
    page.get_by_role("button", name="Check").click()
    page.wait_for_load_state()
    expect(page.locator("body[data-playground=ready]")).to_be_attached()
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#predict-box")).to_contain_text("Make your prediction before the first Check")
    page.screenshot(path=str(artifacts / "lesson-predict-ask.png"))

    page.locator("#predict-box label.choice", has_text="1").locator("input").check()
    page.get_by_role("button", name="Lock in my prediction").click()
    expect(page.locator("#your-prediction")).to_have_text("1")

    # The starter is slow on every request, so the check fails, but it measured the cold starts.
    page.get_by_role("button", name="Check").click()
    result = page.locator("#check-result")
    measured = page.locator("#predict-box #prediction-result")
    expect(measured).to_contain_text("You predicted 1 · measured 1 cold starts — right")
    expect(result.locator(".check-hint")).to_contain_text("Hint: The warm request is as slow as the cold one")
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        result.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"lesson-predict-result-{name}.png"))


def test_hints_come_one_stage_per_failure_and_the_code_on_request(new_page, artifacts):
    page = new_page(*SIZES["desktop"])
    page.goto("/lessons/first-function/1/")
    expect(page.locator("body[data-playground=ready]")).to_be_attached()
    check = page.get_by_role("button", name="Check")
    hint = page.locator("#check-result .check-hint")

    check.click()
    expect(hint).to_contain_text("The check sends more than one name")
    expect(hint).not_to_contain_text("statusCode")
    check.click()
    expect(hint).to_contain_text("The event is a dict")
    page.screenshot(path=str(artifacts / "lesson-hint-stage-two.png"))

    page.get_by_role("button", name="Show me the code").click()
    expect(page.locator("#hint-box")).to_contain_text(re.compile(r"The answer:.*statusCode"))
    page.locator("#hint-box").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "lesson-hint-code.png"))
