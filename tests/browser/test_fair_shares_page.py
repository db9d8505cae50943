"""The scaling page refuses a reservation over the server's fair share with a 400 whose message
the page shows in place of the form (htmx swaps a 400), and keeps the saved value."""

import pytest

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": (1366, 900), "laptop": (1280, 720), "phone": (390, 844)}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_reservation_over_the_floor_shows_the_cap_and_saves_nothing(page, artifacts, viewport):
    page.set_viewport_size(dict(zip(("width", "height"), VIEWPORTS[viewport], strict=True)))
    page.goto("/")
    page.fill("input[name=name]", f"greedy-{viewport}")
    page.click("text=New function")
    page.wait_for_selector("#connection[data-state=open]")
    slug = page.url.rstrip("/").split("/")[-1]
    page.goto(f"/functions/{slug}/scale/")

    page.fill("input[name=reserved_concurrency]", "8")  # the whole account of this 8-slot server
    with page.expect_response(lambda r: r.url.endswith("/scale/config")) as answer:
        page.click("#scale-config >> text=Save")
    alert = page.wait_for_selector("#scale-config [role=alert]")
    page.screenshot(path=str(artifacts / f"scaling-over-the-floor-{viewport}.png"), full_page=True)

    assert answer.value.status == 400
    assert "would cut into the unreserved floor" in alert.inner_text()
    assert "so at most 7 can be reserved now" in alert.inner_text()
    assert page.input_value("input[name=reserved_concurrency]") == ""
    page.reload()
    assert page.input_value("input[name=reserved_concurrency]") == ""  # nothing was saved
