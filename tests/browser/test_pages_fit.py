"""Every page changed for issue 16 at a laptop (1366x900), a projector (1280x720) and a phone
(390x844), light and dark: nothing wider than the screen; screenshots kept under tests/artifacts/."""

import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import function_invoked_once, slug_of

pytestmark = pytest.mark.browser

SIZES = [(1366, 900), (1280, 720), (390, 844)]

SLEEPS = textwrap.dedent(
    """
    import time

    def handler(event, context):
        time.sleep(0.3)
        return {"ok": True}
    """
).lstrip()


def no_horizontal_overflow(page, where):
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where}: the page is {scroll_width - width} px wider than the screen"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_changed_page_fits_each_screen(open_page, artifacts, scheme):
    page = open_page(1366, 900, color_scheme=scheme)
    function_invoked_once(page, "fits-every-screen", SLEEPS)
    slug = slug_of(page)
    page.locator(".tabs >> text=Scaling").click()
    page.fill("input[name=requests]", "6")
    page.fill("input[name=concurrency]", "3")
    page.click("#load-start")
    expect(page.locator(".scale[data-state=finished]")).to_be_attached(timeout=60_000)

    pages = {
        "home": "/",
        "playground": f"/functions/{slug}/",
        "scaling": page.url,
        "triggers": f"/functions/{slug}/triggers/",
    }
    for name, url in pages.items():
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            if name == "scaling":
                expect(page.locator(".scale[data-state=finished]")).to_be_attached()
                expect(page.locator("#timeline")).to_have_attribute("data-clipped-labels", "0")
            no_horizontal_overflow(page, f"{name} at {width}x{height} ({scheme})")
            page.screenshot(path=artifacts / f"{name}-{width}x{height}-{scheme}.png", full_page=True)
