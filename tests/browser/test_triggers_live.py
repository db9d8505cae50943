"""The Triggers tab updates its rows live: an asynchronous invocation appears and finishes on the
page without a reload (its rows used to stay QUEUED until one)."""

import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import function_invoked_once, slug_of

pytestmark = pytest.mark.browser

SLOW = textwrap.dedent(
    """
    import time

    def handler(event, context):
        time.sleep(1)
        return {"done": True}
    """
).lstrip()


def test_an_async_invocation_appears_and_finishes_without_a_reload(page, artifacts):
    function_invoked_once(page, "live-rows", SLOW)  # saves the code
    csrf = page.locator("#function-form [name=csrfmiddlewaretoken]").get_attribute("value")
    slug = slug_of(page)

    page.goto(f"/functions/{slug}/triggers/")
    expect(page.locator("#recent-triggered")).to_contain_text("None yet")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    response = page.request.post(
        f"/api/functions/{slug}/invocations",
        data={"event": {"n": 1}, "invocation_type": "Event"},
        headers={"X-CSRFToken": csrf},  # the API as the signed-in page calls it
    )
    assert response.status == 202

    row = page.locator("#recent-triggered tbody tr")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row.locator(".status")).to_have_text("ok", timeout=20_000)
    assert page.evaluate("window.sameDocument === true"), "the page was reloaded"
    page.screenshot(path=artifacts / "triggers-live-row.png", full_page=True)
