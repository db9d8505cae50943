"""/api/docs in Chromium with every request off this server refused (an offline classroom):
Swagger UI renders the API's operations; and the playground's API token box creates a token, shows
it once, and that token works against the API."""

import json
import re
import urllib.request
from urllib.parse import urlparse

from playwright.sync_api import expect

from tests.browser.test_playground_page import new_function

SIZES = {"desktop": (1366, 900), "projector": (1280, 720), "phone": (390, 844)}


def only_this_server(page, server_url):
    """Abort every request to another host; return the list of what was refused."""
    host = urlparse(server_url).netloc
    refused = []

    def route(request_route):
        if urlparse(request_route.request.url).netloc in (host, ""):
            request_route.continue_()
        else:
            refused.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    return refused


def test_the_api_docs_render_from_this_server_alone(page, server_url, artifacts):
    refused = only_this_server(page, server_url)
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/api/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Coldstart API")
        invocations = page.locator(".opblock-summary-path", has_text="/api/functions/{slug}/invocations")
        expect(invocations).to_have_count(2)
        expect(page.locator("button.authorize")).to_be_visible()
        page.screenshot(path=artifacts / f"api-docs-{label}.png")
    assert refused == [], f"the docs page asked another host for {refused}"


def test_the_playground_creates_a_token_shows_it_once_and_it_works(page, server_url, artifacts):
    new_function(page, "token-box")
    box = page.locator("details.api-box", has_text="Use this function from scripts")
    box.locator("summary").click()
    box.get_by_role("button", name="Create an API token").click()
    key = box.locator("#api-token").inner_text().strip()
    assert len(key) >= 32
    expect(box).to_contain_text("shown only this once")
    page.set_viewport_size({"width": 1280, "height": 720})
    box.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "api-token-created.png")

    headers = {"Authorization": f"Bearer {key}"}
    request = urllib.request.Request(server_url + "/api/functions", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert [f["name"] for f in json.load(response)["functions"]] == ["token-box"]

    page.reload()
    box.locator("summary").click()
    expect(box).to_contain_text(re.compile(rf"starts with {re.escape(key[:6])}"))
    assert key not in page.content(), "the key was shown again"
