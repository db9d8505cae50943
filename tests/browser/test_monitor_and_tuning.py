"""The Monitor and Power tuning tabs in Chromium on a real server: charts drawn with their text
alternatives, the period/range picker, a tuning sweep with its chart, marks and table; every
size of screen (1366x900, 1280x720, a phone) without sideways scrolling, light and dark.
Screenshots go to tests/artifacts/."""

import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import function_invoked_once, slug_of
from tests.browser.test_pages_fit import SIZES, SLEEPS, no_horizontal_overflow

pytestmark = pytest.mark.browser

CPU = textwrap.dedent(
    """
    def handler(event, context):
        return sum(i * i for i in range(20000))
    """
).lstrip()


def fits_and_shot(page, open_page, artifacts, name, ready):
    """At each screen size, then in the dark theme: (re)load, wait for `ready`, no sideways
    scrolling, a screenshot."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        expect(page.locator(ready)).to_be_attached(timeout=30_000)
        no_horizontal_overflow(page, f"{name} at {width}x{height}")
        page.screenshot(path=artifacts / f"{name}-{width}x{height}.png", full_page=True)
    dark = open_page(1366, 900, color_scheme="dark")
    dark.context.add_cookies(page.context.cookies())  # the same learner
    dark.goto(page.url)
    expect(dark.locator(ready)).to_be_attached(timeout=30_000)
    no_horizontal_overflow(dark, f"{name} in the dark theme")
    dark.screenshot(path=artifacts / f"{name}-1366x900-dark.png", full_page=True)


def test_the_monitor_tab_charts_the_invocations_with_a_sentence_for_each(page, artifacts, open_page):
    function_invoked_once(page, "monitored", SLEEPS)
    slug = slug_of(page)
    page.locator(".tabs >> text=Scaling").click()
    page.fill("input[name=requests]", "6")
    page.fill("input[name=concurrency]", "3")
    page.click("#load-start")
    expect(page.locator(".scale[data-state=finished]")).to_be_attached(timeout=60_000)

    page.locator(".tabs >> text=Monitor").click()
    expect(page.locator(".tabs a.active")).to_have_text("Monitor")
    expect(page.locator(".monitor[data-state=loaded]")).to_be_attached()
    assert page.locator(".monitor .metric .uplot canvas").count() == 6  # six charts drawn
    invocations = page.locator("[data-metric=Invocations]")
    expect(invocations).to_have_attribute("data-total", "7")
    expect(invocations.locator(".chart-summary")).to_have_text(
        re.compile(r"^7 invocations in the last hour; at most [1-7] in one minute \([^)]*\d\d:\d\d[^)]*\)\.$")
    )  # (all 7 in one minute, unless a minute boundary fell between them)
    concurrent = page.locator("[data-metric=ConcurrentExecutions] .chart-summary")
    expect(concurrent).to_have_text(re.compile(r"^Peak: 3 concurrent executions \("))
    expect(page.locator("[data-metric=Errors] .chart-summary")).to_have_text(
        "No errors in the last hour (7 invocations)."
    )
    expect(page.locator("[data-metric=Throttles] .chart-summary")).to_have_text(
        "No throttled requests in the last hour."
    )
    expect(page.locator("[data-metric=Duration] .chart-summary")).to_have_text(
        re.compile(r"^Average \d+ ms over 7 invocations in the last hour; the slowest minute had p99 ")
    )
    spill = page.locator("[data-metric=ProvisionedConcurrencySpilloverInvocations] .chart-summary")
    expect(spill).to_have_text(re.compile(r"^No spillover in the last hour"))
    # Each chart is an image named by its heading and described by its sentence.
    chart = page.locator("[data-metric=Invocations] .chart")
    assert chart.get_attribute("role") == "img"
    assert (
        page.locator(f"#{chart.get_attribute('aria-describedby')}").inner_text().startswith("7 invocations")
    )

    # The picker: 10 minutes at 10 s a point; a period that would make too many points is not offered.
    page.select_option("#monitor-range", "600")
    page.select_option("#monitor-period", "10")
    expect(page.locator(".monitor")).to_have_attribute("data-period", "10")
    expect(page.locator("#monitor-status")).to_contain_text("60 points, one per 10 s")
    expect(invocations).to_have_attribute("data-total", "7")
    page.select_option("#monitor-range", "86400")
    assert page.locator("#monitor-period option[value='10']").is_disabled()
    expect(page.locator(".monitor")).to_have_attribute("data-period", "60")

    assert page.url.endswith(f"/functions/{slug}/monitor/")
    fits_and_shot(page, open_page, artifacts, "monitor", ".monitor[data-state=loaded]")


def test_a_tuning_sweep_draws_duration_and_cost_and_marks_the_cheapest_and_fastest(
    page, artifacts, open_page
):
    function_invoked_once(page, "tuned", CPU)
    page.locator(".tabs >> text=Power tuning").click()
    expect(page.locator("#tuning-summary")).to_contain_text("Choose memory sizes and start a run")
    for size in ("128", "256", "512", "1024", "1536", "3008"):
        page.locator(f"input[name=memory_sizes][value='{size}']").set_checked(size in ("128", "1024"))
    page.fill("input[name=more_sizes]", "512")
    page.fill("input[name=invocations_per_size]", "3")
    page.click("#tuning-start")
    expect(page).to_have_url(re.compile(r"/tuning/\?run=\d+$"))
    expect(page.locator(".tuning[data-state=finished]")).to_be_attached(timeout=60_000)

    chart = page.locator("#tuning-chart")
    expect(chart.locator(".uplot canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-points", "3")
    cheapest, fastest = chart.get_attribute("data-cheapest"), chart.get_attribute("data-fastest")
    assert cheapest in ("128", "512", "1024") and fastest in ("128", "512", "1024")
    expect(page.locator("#tuning-marks")).to_contain_text(f"cheapest: {cheapest} MB")
    expect(page.locator("#tuning-marks")).to_contain_text(f"fastest: {fastest} MB")
    rows = page.locator("#tuning-table tr[data-memory]")
    expect(rows).to_have_count(3)
    expect(page.locator(f"#tuning-table tr[data-memory='{cheapest}'] .badge-cheapest")).to_have_text(
        "cheapest"
    )
    expect(page.locator(f"#tuning-table tr[data-memory='{fastest}'] .badge-fastest")).to_have_text("fastest")
    summary = page.locator("#tuning-summary")
    expect(summary).to_contain_text(re.compile(r"^128 MB: [\d.]+ ms, \$0\.0+\d+ per invocation; 512 MB: "))
    expect(summary).to_contain_text(f"Cheapest: {cheapest} MB")
    expect(summary).to_contain_text(f"Fastest: {fastest} MB")
    expect(page.locator("#tuning-status")).to_have_text("9 of 9 · finished")
    expect(page.locator("#tuning-stop")).to_be_disabled()
    # The form keeps the run's settings; the function's own memory is unchanged.
    checked = page.locator("input[name=memory_sizes]:checked")
    assert [checked.nth(i).get_attribute("value") for i in range(checked.count())] == ["128", "512", "1024"]
    assert page.input_value("input[name=more_sizes]") == ""  # 512 is one of the boxes
    expect(page.locator(".tuning .pg-title .muted")).to_contain_text("Configured: 128 MB")

    fits_and_shot(page, open_page, artifacts, "tuning", ".tuning[data-state=finished] #tuning-chart .uplot")
