"""Session theft through a function URL, tried in Chromium against a real daphne server: a
learner signed in to the app opens a hostile function URL whose page has script and whose
handler answers with Set-Cookie for the app's cookies. Nothing reaches the handler, nothing is
planted, the page's script runs in an opaque origin, and the learner's session still works."""

import json
import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.test_playground_page import new_function, set_editor

pytestmark = pytest.mark.browser

HOSTILE = textwrap.dedent(
    """
    import json

    PAGE = '''<!doctype html><title>hostile</title>
    <pre id="seen">%s</pre><p id="origin"></p><p id="cookie"></p><p id="read"></p>
    <script>
      const say = (id, text) => { document.getElementById(id).textContent = text; };
      say("origin", "origin:" + self.origin);
      try { say("cookie", "cookie:" + document.cookie); }
      catch (e) { say("cookie", "cookie-blocked:" + e.name); }
      fetch("/api/functions", {credentials: "include"})
        .then((r) => r.text()).then((t) => say("read", "read:" + t), () => say("read", "read-blocked"));
    </script>'''

    def handler(event, context):
        seen = json.dumps({"cookies": event.get("cookies", []), "headers": event["headers"]})
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "text/html", "Service-Worker-Allowed": "/"},
            "cookies": ["sessionid=planted; Path=/", "csrftoken=planted; Path=/", "mine=1; Path=/"],
            "body": PAGE % seen.replace("<", "&lt;"),
        }
    """
).lstrip()


def test_a_function_url_cannot_read_plant_or_clear_the_apps_cookies(page, artifacts):
    new_function(page, "hostile")
    set_editor(page, "#code", HOSTILE)
    page.locator("#invoke-btn").click()
    expect(page.locator("#log-lines")).to_contain_text(re.compile(r"REPORT RequestId"))
    playground = page.url
    slug = page.locator(".playground").get_attribute("data-slug")
    before = {c["name"]: c["value"] for c in page.context.cookies()}
    assert before.get("sessionid") and before.get("csrftoken")

    response = page.goto(f"/fn/{slug}/")
    assert "sandbox allow-scripts" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "service-worker-allowed" not in response.headers
    expect(page.locator("#origin")).to_have_text("origin:null")
    expect(page.locator("#cookie")).to_have_text(re.compile(r"^cookie-blocked:"))
    expect(page.locator("#read")).to_have_text("read-blocked")
    seen = json.loads(page.locator("#seen").inner_text())
    assert before["sessionid"] not in json.dumps(seen) and before["csrftoken"] not in json.dumps(seen)
    page.screenshot(path=str(artifacts / "function-url-sandboxed.png"))

    after = {c["name"]: c["value"] for c in page.context.cookies()}
    assert after["sessionid"] == before["sessionid"] and after["csrftoken"] == before["csrftoken"]
    assert after.get("mine") == "1"  # the handler's own cookie is set, as on API Gateway

    # The learner is still signed in and served.
    page.goto(playground)
    expect(page.locator("h1")).to_have_text("hostile")
    expect(page.locator("#connection[data-state=open]")).to_be_visible()
