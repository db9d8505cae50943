"""Versions and aliases on the playground page in Chromium against a real daphne server: publish
a version, point an alias at it, invoke the alias and see the version in the START line, the
history and the result; switch the logs to JSON and filter them by level."""

import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.test_playground_page import history_rows, new_function, set_editor

pytestmark = pytest.mark.browser

GREETS = textwrap.dedent(
    """
    import logging
    logger = logging.getLogger()

    def handler(event, context):
        logger.info("info from %s", context.function_version)
        logger.warning("warning from %s", context.function_version)
        return {"greeting": "hello", "version": context.function_version}
    """
).lstrip()


def start_line(page):
    return page.locator("#log-lines .log-line").first


def invoke_and_wait(page):
    page.locator("#invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible()
    expect(page.locator("#invoke-btn")).to_be_enabled()


def test_publish_point_an_alias_and_see_the_version_in_the_start_line(page, artifacts):
    new_function(page, "versioned")
    set_editor(page, "#code", GREETS)
    page.locator("#publish-btn").click()
    expect(page.locator("#notice")).to_contain_text("Published version 1")
    expect(page.locator("#version-list")).to_contain_text("v1")

    set_editor(page, "#code", GREETS.replace('"hello"', '"bonjour"'))
    page.locator("#publish-btn").click()
    expect(page.locator("#notice")).to_contain_text("Published version 2")
    expect(page.locator("#version-list")).to_contain_text("v2")

    page.locator(".vb-alias-editor summary").click()
    page.locator("#alias-form [name=alias_name]").fill("live")
    page.locator("#alias-form [name=alias_version]").select_option("1")
    page.locator("#alias-save-btn").click()
    expect(page.locator("#notice")).to_contain_text("Alias live created: version 1.")
    expect(page.locator('#alias-list [data-alias="live"]')).to_contain_text("live → 1")

    page.locator("#qualifier").select_option("live")
    invoke_and_wait(page)
    expect(start_line(page)).to_have_text(re.compile(r"^START RequestId: [0-9a-f-]{36} Version: 1$"))
    expect(page.locator("#result-panel pre.json")).to_contain_text('"greeting": "hello"')
    expect(page.locator("#result-version")).to_have_text("Version 1")
    expect(page.locator("#log-title .tag-version")).to_have_text("live → v1")
    expect(history_rows(page).first.locator(".history-version")).to_have_text(re.compile(r"^1\s+live$"))
    page.screenshot(path=str(artifacts / "versions-alias-invoked.png"), full_page=True)

    # Moving the alias releases version 2 without touching who calls "live".
    page.locator("#alias-form [name=alias_version]").select_option("2")
    page.locator("#alias-save-btn").click()
    expect(page.locator("#notice")).to_contain_text("Alias live moved: version 2.")
    page.locator("#qualifier").select_option("live")
    invoke_and_wait(page)
    expect(start_line(page)).to_have_text(re.compile(r"Version: 2$"))
    expect(page.locator("#result-panel pre.json")).to_contain_text('"greeting": "bonjour"')

    page.locator("#qualifier").select_option("")
    invoke_and_wait(page)
    expect(start_line(page)).to_have_text(re.compile(r"Version: \$LATEST$"))
    expect(page.locator("#log-lines")).not_to_contain_text("info from", timeout=1)  # Python's WARNING level
    expect(page.locator("#log-lines")).to_contain_text("warning from $LATEST")

    # The Monitor tab charts every version together, or the one picked.
    page.locator(".tabs >> text=Monitor").click()
    invocations = page.locator("[data-metric=Invocations]")
    expect(invocations).to_have_attribute("data-total", "3")
    picker = page.locator("#monitor-version")
    assert picker.locator("option").all_inner_texts() == ["all versions", "$LATEST", "1", "2"]
    for width, height in ((1366, 900), (1280, 720), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()  # the charts are sized for the screen they load on
        expect(invocations).to_have_attribute("data-total", "3")
        picker.select_option("2")
        expect(invocations).to_have_attribute("data-total", "1")
        page.screenshot(path=str(artifacts / f"monitor-version-2-{width}x{height}.png"), full_page=True)
    picker.select_option("")
    expect(invocations).to_have_attribute("data-total", "3")


def test_json_logs_render_readably_and_filter_by_level(page, artifacts):
    new_function(page, "json-logs")
    set_editor(page, "#code", GREETS)
    page.locator("#logging-config summary").click()
    page.locator("#log-format").select_option("JSON")
    page.locator("[name=application_log_level]").select_option("INFO")
    invoke_and_wait(page)
    start = start_line(page)
    expect(start).to_have_class(re.compile(r"log-json"))
    expect(start.locator(".log-pretty")).to_have_text(
        re.compile(r"^platform\.start  RequestId: \S+  Version: \$LATEST$")
    )
    info = page.locator("#log-lines .log-line", has_text="info from $LATEST")
    expect(info.locator(".log-pretty")).to_be_visible()
    expect(info.locator(".log-pretty")).to_have_text(
        re.compile(r"^\[INFO\] \S+Z info from \$LATEST$")
    )
    expect(page.locator("#log-lines .log-report .log-pretty")).to_contain_text("Billed Duration:")
    page.screenshot(path=str(artifacts / "versions-json-logs.png"), full_page=True)

    page.locator("#log-level-filter").select_option("WARN")
    expect(info).to_be_hidden()
    expect(page.locator("#log-lines .log-line", has_text="warning from $LATEST")).to_be_visible()
    expect(page.locator("#log-lines .log-report")).to_be_visible()
    page.locator("#log-raw-toggle").check()
    expect(start.locator(".log-raw")).to_have_text(
        re.compile(r'^\{"time": "\S+Z", "type": "platform\.start"')
    )
    page.locator("#log-level-filter").select_option("")
    expect(info).to_be_visible()
