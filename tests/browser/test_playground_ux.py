"""The playground's fixes from class (issue 16, issue 15's "compare runs"), in Chromium against a
real daphne server started as `make run` starts it: large events, Ctrl/Cmd-Enter, a 1280x720
projector, the dark theme, the Python of each run mode, and the last runs side by side."""

import json
import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import function_invoked_once, history_rows, log_line, new_function, set_editor

pytestmark = pytest.mark.browser

COUNTS_CHARACTERS = textwrap.dedent(
    """
    def handler(event, context):
        return {"chars": len(event["data"])}
    """
).lstrip()

HELLO = textwrap.dedent(
    """
    def handler(event, context):
        print("hello", event.get("name"))
        return {"hello": event.get("name")}
    """
).lstrip()


def editor_text(page, selector):
    return page.evaluate("s => document.querySelector(s).value", selector)


def finished(page, count):
    """Wait until `count` invocations are in the history and the page is ready for the next."""
    expect(history_rows(page)).to_have_count(count, timeout=30_000)
    expect(page.locator("#invoke-btn")).to_be_enabled()


def test_a_2_mb_event_runs_and_one_over_6_mb_is_refused_inline_naming_the_limit(page, artifacts):
    new_function(page, "big-events")
    set_editor(page, "#code", COUNTS_CHARACTERS)
    two_mb = 2 * 1024 * 1024
    set_editor(page, "#event", json.dumps({"data": "x" * two_mb}))
    page.locator("#invoke-btn").click()
    # Over daphne's default 1 MiB message limit: it used to close the socket and vanish.
    result = page.locator("#result-panel[data-status=ok] .response")
    expect(result).to_contain_text(f'"chars": {two_mb}', timeout=30_000)
    finished(page, 1)
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")

    set_editor(page, "#event", json.dumps({"data": "x" * (7 * 1024 * 1024)}))
    error = page.locator("#event-error")
    expect(error).to_contain_text("over the 6 MB limit of a synchronous invocation")
    page.locator("#invoke-btn").click()
    expect(error).to_contain_text("Invoke was not sent")
    expect(error).to_be_focused()
    page.screenshot(path=artifacts / "playground-event-over-6mb.png")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    expect(history_rows(page)).to_have_count(1)  # nothing ran

    set_editor(page, "#event", json.dumps({"data": "ok"}))
    expect(error).to_be_empty()
    page.locator("#invoke-btn").click()
    finished(page, 2)  # the socket is still usable


def test_ctrl_enter_in_an_editor_invokes_once_and_inserts_no_newline(page):
    new_function(page, "shortcut")
    set_editor(page, "#code", HELLO)
    set_editor(page, "#event", '{"name": "Ada"}')
    # The cursor at the end of the code's first line, as a learner who just typed it.
    page.locator(".editor-pane .cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("End")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible(timeout=30_000)
    finished(page, 1)
    assert editor_text(page, "#code") == HELLO, "Ctrl-Enter inserted a newline in the code"

    page.locator(".event-pane .cm-content").click()
    page.keyboard.press("End")
    page.keyboard.press("Control+Enter")
    finished(page, 2)
    assert editor_text(page, "#event") == '{"name": "Ada"}', "Ctrl-Enter changed the event"
    expect(log_line(page, "hello Ada")).to_have_count(1)


def test_a_1280x720_projector_shows_invoke_the_editor_and_the_start_of_the_logs(open_page, artifacts):
    page = open_page(1280, 720)
    function_invoked_once(page, "projector", HELLO)
    page.reload()
    expect(page.locator("#connection[data-state=open]")).to_be_visible()
    assert page.evaluate("window.scrollY") == 0

    def box(selector):
        found = page.locator(selector).first
        expect(found).to_be_visible()
        return found.bounding_box()

    viewport = page.viewport_size
    must_show = {
        "Invoke": "#invoke-btn",
        "the editor": ".editor-pane .cm-editor",
        "the logs' heading": "#logs-heading",
        "the first log line": "#log-lines .log-line",
    }
    for name, selector in must_show.items():
        b = box(selector)
        assert b["y"] >= 0 and b["x"] >= 0, f"{name} starts off screen: {b}"
        assert b["y"] + b["height"] <= viewport["height"], f"{name} is below the fold at 1280x720: {b}"
        assert b["x"] + b["width"] <= viewport["width"], f"{name} is cut off on the right: {b}"
    assert box(".editor-pane .cm-editor")["height"] >= 200, "the editor was squeezed to fit"
    # No nested pane hides them: the editor and the log show their first lines unscrolled.
    assert page.evaluate("document.querySelector('.editor-pane .cm-scroller').scrollTop") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=artifacts / "playground-1280x720.png")


def relative_luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour(page, selector, prop):
    value = page.evaluate("([s, p]) => getComputedStyle(document.querySelector(s))[p]", [selector, prop])
    return tuple(int(n) for n in re.findall(r"\d+", value)[:3])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_follows_the_system_setting_with_projector_contrast(open_page, artifacts, scheme):
    page = open_page(1366, 900, color_scheme=scheme)
    function_invoked_once(page, f"theme-{scheme}")

    background = colour(page, "body", "backgroundColor")
    panel = colour(page, ".editor-pane", "backgroundColor")
    editor = colour(page, ".editor-pane .cm-editor", "backgroundColor")
    dark = scheme == "dark"
    for surface in (background, panel, editor):
        assert (relative_luminance(surface) < 0.05) == dark, f"{surface} is not a {scheme} surface"
    # Projectors wash out contrast: body text at least 7:1 (WCAG AAA), secondary text 4.5:1.
    assert contrast(colour(page, "body", "color"), background) >= 7
    assert contrast(colour(page, ".pane-head label.inline", "color"), panel) >= 4.5
    assert contrast(colour(page, ".cm-content", "color"), editor) >= 7
    keyword = colour(page, ".editor-pane .cm-line span", "color")  # `import`, highlighted
    assert contrast(keyword, editor) >= 4.5
    page.screenshot(path=artifacts / f"playground-{scheme}.png")


def test_the_header_names_the_python_of_the_chosen_run_mode(page):
    new_function(page, "versions")
    server = page.locator(".runtime-info .server-only")
    browser = page.locator(".runtime-info .browser-only")
    server_python = server.get_attribute("data-python")
    expect(server).to_be_visible()
    expect(server).to_have_text(f"Python {server_python}")
    expect(browser).to_be_hidden()

    page.get_by_label("my browser").check()
    browser_python = browser.get_attribute("data-python")
    assert re.fullmatch(r"3\.\d+", browser_python), "the vendored Pyodide's Python is unknown"
    expect(browser).to_be_visible()
    expect(browser).to_have_text(f"Python {browser_python} in Pyodide")
    expect(server).to_be_hidden()


def test_the_log_pane_keeps_the_last_five_runs_to_compare_their_report_lines(open_page, artifacts):
    page = open_page(1366, 900)
    function_invoked_once(page, "compare", HELLO)
    page.locator("#repeat").fill("4")
    page.locator("#invoke-n-btn").click()
    finished(page, 5)
    expect(page.locator("#repeat")).to_have_value("4")  # the re-rendered buttons keep it

    runs = page.locator("#log-runs > .log-run")
    expect(runs).to_have_count(5)
    assert runs.evaluate_all("rs => rs.map(r => r.open)") == [False, False, False, False, True]
    expect(page.locator("#log-lines")).to_have_count(1)
    expect(runs.last.locator(".log")).to_have_id("log-lines")
    expect(runs.first.locator(".run-figures")).to_contain_text("cold")

    # An older run opens on a click and shows its own REPORT line.
    runs.first.locator("summary").click()
    expect(runs.first.locator(".log-report")).to_contain_text("Init Duration:")

    page.locator("#report-compare summary").click()
    table = page.locator("#report-table table")
    expect(table.locator("thead th")).to_have_count(6)  # the row labels + one column per run
    init = table.locator("tr", has=page.locator("th", has_text="Init Duration")).locator("td")
    expect(init.first).to_have_text(re.compile(r"^\d+\.\d\d ms$"))  # the cold start
    expect(init.nth(1)).to_have_text("—")
    billed = table.locator("tr", has=page.locator("th", has_text="Billed Duration")).locator("td")
    expect(billed).to_have_count(5)
    page.screenshot(path=artifacts / "playground-compare-runs.png")

    page.locator("#invoke-btn").click()  # a sixth: the oldest (cold) one leaves the pane
    finished(page, 6)
    expect(runs).to_have_count(5)
    expect(init.first).to_have_text("—")
    expect(runs.last).to_have_attribute("open", "")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.screenshot(path=artifacts / "playground-compare-runs-1280x720.png")


def test_an_edit_is_saved_as_a_draft_while_typing_and_survives_a_reload(page, artifacts):
    new_function(page, "drafts")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    set_editor(page, "#code", HELLO.replace('"hello"', '"typed, never invoked"'))
    expect(page.locator("#draft-state")).to_contain_text("Draft saved")
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    assert "typed, never invoked" in editor_text(page, "#code")
    expect(history_rows(page)).to_have_count(0)
