"""The scaling page under a small real load: lanes, counts and the stored invocations agree."""

import re

import pytest

pytestmark = pytest.mark.browser

HALF_SECOND = "import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n    return {'ok': True}\n"


def test_a_load_of_20_at_concurrency_5_shows_five_environment_lanes(page, artifacts):
    page.goto("/")
    page.fill("input[name=name]", "scale-out")
    page.click("text=New function")
    page.wait_for_selector("#connection[data-state=open]")
    page.evaluate("src => window.ColdstartEditor.setValue(document.querySelector('#code'), src)", HALF_SECOND)
    slug = page.url.rstrip("/").split("/")[-1]
    page.click("#invoke-btn")  # saves the code and runs it once
    page.wait_for_selector("#result-panel[data-status=ok]")
    page.click(".tabs >> text=Scaling")
    page.fill("input[name=requests]", "20")
    page.fill("input[name=concurrency]", "5")
    page.fill("textarea[name=event]", '{"n": 1}')
    page.click("#load-start")
    page.wait_for_selector(".scale[data-state=finished]", timeout=60_000)
    page.screenshot(path=str(artifacts / "scaling-after-load.png"), full_page=True)
    # The form still holds what was run (it used to come back with the defaults).
    assert page.input_value("textarea[name=event]") == '{"n":1}'
    assert page.input_value("input[name=requests]") == "20"
    assert page.input_value("input[name=concurrency]") == "5"

    load_test = page.url.split("load_test=")[1]
    metrics = page.request.get(f"/functions/{slug}/metrics.json?load_test={load_test}").json()
    stored = page.request.get(f"/api/functions/{slug}/invocations?limit=200").json()["invocations"]
    from_load = [i for i in stored if i["request_id"] in {
        s["request_id"] for lane in metrics["lanes"] for s in lane["segments"] if s["kind"] == "invoke"}]

    assert page.get_attribute("#timeline", "data-lanes") == "5"
    assert len(metrics["lanes"]) == 5
    assert metrics["counts"]["invocations"] + metrics["counts"]["throttles"] == 20
    assert metrics["counts"]["invocations"] == len(from_load) == 20
    assert page.inner_text('[data-stat="invocations"]') == "20"
    assert metrics["concurrency_measured"]["peak"] == 5

    # Cold starts by who served them; the drawings have text versions.
    assert re.fullmatch(r"\d+ on demand, 0 on provisioned", page.inner_text('[data-stat="cold_starts"]'))
    summary = page.inner_text("#timeline-summary")
    assert summary.startswith("5 environments over ") and "20 invocations" in summary
    assert page.get_attribute("#timeline", "aria-label") == summary
    assert page.inner_text("#concurrency-summary").startswith("Peak: 5 concurrent executions")
    assert page.get_attribute("#timeline", "data-clipped-labels") == "0"  # lane and axis labels whole
    page.click("text=The environments as a table")
    assert page.locator("#timeline-table tr").count() == 1 + 5
    # The window is the load test: the environment warmed by the playground's invoke started
    # before it and is drawn from the left edge, and everything fits between 0 and its end.
    assert metrics["window"]["from"] == 0
    assert [lane["started_before"] for lane in metrics["lanes"]].count(True) <= 1
    for lane in metrics["lanes"]:
        assert 0 <= lane["from"] <= metrics["window"]["to"]
        for segment in lane["segments"]:
            assert 0 <= segment["from"] <= segment["to"] <= metrics["window"]["to"]

READY_PROVISIONED = """async ([slug, count]) => {
    const metrics = await (await fetch(`/functions/${slug}/metrics.json`)).json();
    const ready = metrics.lanes.filter(l => l.provisioned && l.segments.some(s => s.kind === "init"));
    return ready.length >= count;
}"""


def test_one_click_publishes_points_an_alias_and_provisions_it_for_a_load_on_the_alias(page, artifacts):
    page.goto("/")
    page.fill("input[name=name]", "provisioned")
    page.click("text=New function")
    page.wait_for_selector("#connection[data-state=open]")
    slug = page.url.rstrip("/").split("/")[-1]
    # A handler that takes a while, so the load's pairs overlap and need both environments (a
    # trivial one ends before the next request starts, and one warm environment serves all).
    page.evaluate("src => window.ColdstartEditor.setValue(document.querySelector('#code'), src)", HALF_SECOND)
    page.click("#invoke-btn")  # saves the code (the version is published from it) and runs it once
    page.wait_for_selector("#result-panel[data-status=ok]")
    page.click(".tabs >> text=Scaling")
    page.fill("#provision-form input[name=provisioned_concurrency]", "2")
    page.click("#provision-btn")
    page.wait_for_selector("#scale-config .notice >> text=Published version 1")
    assert "live" in page.inner_text("#provisioned-list")
    # As on AWS, provisioning is in progress for a moment after the click: wait for both
    # environments to be initialised, or the load's first pair may spill to on demand.
    page.wait_for_function(READY_PROVISIONED, arg=[slug, 2], timeout=30_000, polling=200)
    page.goto(f"/functions/{slug}/scale/")  # the picker now offers the alias
    page.select_option("#load-qualifier", "live")
    page.fill("input[name=requests]", "4")
    page.fill("input[name=concurrency]", "2")
    page.click("#load-start")
    page.wait_for_selector(".scale[data-state=finished]", timeout=60_000)
    page.screenshot(path=str(artifacts / "scaling-provisioned-alias.png"), full_page=True)

    load_test = page.url.split("load_test=")[1]
    metrics = page.request.get(f"/functions/{slug}/metrics.json?load_test={load_test}").json()
    assert metrics["counts"]["by_version"] == {"1": 4}
    assert metrics["counts"]["provisioned_invocations"] >= 2
    provisioned = [lane for lane in metrics["lanes"] if lane["provisioned"]]
    assert len(provisioned) == 2 and {lane["version"] for lane in provisioned} == {"1"}
    assert "v1" in page.inner_text('[data-stat="by_version"]')
    assert set(page.get_attribute("#timeline", "data-versions").split(",")) == {"1"}


REASON_LABELS = {
    "reserved concurrency", "scaling rate", "account concurrency", "your concurrency quota",
    "your per-minute quota", "your memory quota", "host environment cap", "host memory",
}  # fmt: skip
VIEWPORTS = {"desktop": (1366, 900), "projector": (1280, 720), "phone": (390, 844)}


def reason_counts(text):
    """'reserved concurrency: 3 · account concurrency: 2' as {label: count}."""
    parts = [part.rsplit(": ", 1) for part in text.split(" · ")]
    return {label: int(n) for label, n in parts}


def run_load(page, requests, concurrency):
    page.fill("input[name=requests]", str(requests))
    page.fill("input[name=concurrency]", str(concurrency))
    page.click("#load-start")
    page.wait_for_selector(".scale[data-state=finished]", timeout=60_000)


def test_every_throttle_on_the_page_says_why(page, artifacts):
    page.goto("/")
    page.fill("input[name=name]", "throttled")
    page.click("text=New function")
    page.wait_for_selector("#connection[data-state=open]")
    page.evaluate("src => window.ColdstartEditor.setValue(document.querySelector('#code'), src)", HALF_SECOND)
    page.click("#invoke-btn")
    page.wait_for_selector("#result-panel[data-status=ok]")
    page.click(".tabs >> text=Scaling")

    # The function's own limit: a reserved concurrency of 1.
    page.fill("input[name=reserved_concurrency]", "1")
    page.click("#scale-config >> text=Save")
    page.wait_for_selector("#scale-config .notice")
    run_load(page, 6, 3)
    throttles = int(page.inner_text('[data-stat="throttles"]'))
    assert throttles >= 1
    assert page.inner_text('[data-stat="throttle_reasons"]') == f"reserved concurrency: {throttles}"
    summary = page.inner_text("#timeline-summary")
    assert f"{throttles} throttled (reserved concurrency: {throttles})" in summary

    # The platform's: with no reservation, a load at more concurrency than this server's 8
    # environments meets its limits (a load test leaves the last of them to everyone else).
    page.fill("input[name=reserved_concurrency]", "")
    page.click("#scale-config >> text=Save")
    page.wait_for_selector("#scale-config .notice")
    run_load(page, 16, 12)
    throttles = int(page.inner_text('[data-stat="throttles"]'))
    reasons = reason_counts(page.inner_text('[data-stat="throttle_reasons"]'))
    assert throttles >= 1 and sum(reasons.values()) == throttles
    assert set(reasons) <= REASON_LABELS and "reserved concurrency" not in reasons
    assert set(reasons) & {"account concurrency", "host environment cap", "your concurrency quota"}
    for name, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator('[data-stat="throttle_reasons"]').scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"scaling-throttle-reasons-{name}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider
