"""Issue 7, "Run on: my browser": the handler runs in Chromium's Pyodide (a Web Worker), with the
server's log lines, REPORT line and error shapes; the server records the run but executes nothing."""

import re
import sqlite3
import textwrap

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HELLO = textwrap.dedent(
    """
    import logging
    import sys

    print("init ran once")
    logging.getLogger().setLevel(logging.INFO)  # the root logger starts at WARNING, as on Lambda
    calls = 0

    def handler(event, context):
        global calls
        calls += 1
        print("hello from", sys.platform, "call", calls)
        logging.getLogger().info("memory %s", context.memory_limit_in_mb)
        return {"calls": calls, "name": event.get("name")}
    """
).lstrip()

LOOP = textwrap.dedent(
    """
    def handler(event, context):
        print("looping")
        while True:
            pass
    """
).lstrip()

RAISES = "def handler(event, context):\n    raise ValueError('boom')\n"

REPORT_COLD = re.compile(
    r"^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms$"
)
REPORT_WARM = re.compile(
    r"^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB$"
)


COUNTS = {
    "not_browser": "SELECT COUNT(*) FROM sandbox_invocation WHERE trigger != 'browser'",
    "browser": "SELECT COUNT(*) FROM sandbox_invocation WHERE trigger = 'browser'",
    "environments": "SELECT COUNT(*) FROM sandbox_environmentrecord",
    "named": "SELECT COUNT(*) FROM sandbox_invocation WHERE environment_name != ''",
}


def server_counts(db):
    """What the server ran: invocations by trigger, environments it started."""
    with sqlite3.connect(db) as conn:
        return {key: conn.execute(sql).fetchone()[0] for key, sql in COUNTS.items()}


def set_editor(page, selector, text):
    page.evaluate(
        "([selector, text]) => window.ColdstartEditor.setValue(document.querySelector(selector), text)",
        [selector, text],
    )


def lines(page):
    return page.locator("#log-lines .log-line").all_inner_texts()


def test_run_in_my_browser_then_a_timeout_then_a_cold_start_again(page, server, artifacts):
    page.goto("/")
    page.get_by_label("New function name").fill("in-browser")
    page.get_by_role("button", name="New function").click()
    page.wait_for_url(re.compile(r"/functions/[\w-]+/$"))
    expect(page.locator("#connection[data-state=open]")).to_be_visible()
    assert page.evaluate("window.crossOriginIsolated") is True, "COOP/COEP headers missing"
    before = server_counts(server["db"])

    page.get_by_label("my browser").check()
    expect(page.locator("#browser-invoke-btn")).to_be_visible()
    expect(page.locator("#invoke-btn")).to_be_hidden()
    set_editor(page, "#code", HELLO)
    set_editor(page, "#event", '{"name": "Ada"}')

    # Cold start: Pyodide downloads and starts in the worker, then the module is imported.
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible(timeout=90_000)
    expect(page.locator("#result-panel .badge-cold")).to_be_visible()
    got = lines(page)
    assert got[0] == "init ran once"
    assert re.fullmatch(r"START RequestId: [0-9a-f-]{36} Version: \$LATEST", got[1])
    assert got[2] == "hello from emscripten call 1"
    assert re.fullmatch(r"\[INFO\]\t\S+Z\t[0-9a-f-]{36}\tmemory 128", got[3])
    assert got[4].startswith("END RequestId: ")
    assert REPORT_COLD.match(got[5]), got[5]
    assert len(got) == 6
    expect(page.locator("#log-lines .log-report")).to_have_count(1)
    expect(page.locator("#result-panel pre.json")).to_contain_text('"calls": 1')
    expect(page.locator("#result-panel")).to_contain_text("browser runtime")
    expect(page.locator("#result-panel")).to_contain_text("estimate: tracemalloc peak")
    init_ms = float(re.search(r"Init Duration: (\d+\.\d\d)", got[5]).group(1))
    assert init_ms > 200, "a browser cold start includes loading Pyodide"

    # Warm: the same worker, globals kept, no Init Duration.
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel .badge-warm")).to_be_visible(timeout=30_000)
    got = lines(page)
    assert got[1] == "hello from emscripten call 2"
    assert REPORT_WARM.match(got[-1]), got[-1]
    expect(page.locator("#result-panel pre.json")).to_contain_text('"calls": 2')

    # Recorded with the history as "browser"; the server ran nothing.
    expect(page.locator("#history a.history-row").first).to_contain_text("browser")
    expect(page.locator("#history a.history-row")).to_have_count(2)
    after = server_counts(server["db"])
    assert after["browser"] == before["browser"] + 2
    assert after["not_browser"] == before["not_browser"]
    assert after["environments"] == before["environments"]
    assert after["named"] == before["named"]
    page.screenshot(path=str(artifacts / "pyodide-warm.png"), full_page=True)

    # An exception: the server's error shape.
    set_editor(page, "#code", RAISES)
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel[data-status=error]")).to_be_visible(timeout=90_000)
    expect(page.locator("#result-panel .error-type")).to_have_text("ValueError")
    expect(page.locator("#result-panel .error-message")).to_have_text("boom")
    expect(page.locator("#log-lines .log-line").filter(has_text="[ERROR] ValueError: boom")).to_have_count(1)

    # A 2 s timeout on an endless loop: interrupted, then the worker is terminated.
    page.locator("input[name=timeout_s]").fill("2")
    set_editor(page, "#code", LOOP)
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel[data-status=timeout]")).to_be_visible(timeout=90_000)
    timeout_line = page.locator("#log-lines .log-fatal")
    expect(timeout_line).to_have_count(1)
    expect(timeout_line).to_have_text(re.compile(r"^\S+Z [0-9a-f-]{36} Task timed out after 2\.00 seconds$"))
    expect(page.locator("#result-panel .error-type")).to_have_text("Sandbox.Timedout")
    expect(page.locator("#result-panel[data-timeout-via=interrupt]")).to_have_count(1)
    expect(page.locator("#browser-runtime-state[data-state=cold]")).to_be_visible()
    page.screenshot(path=str(artifacts / "pyodide-timeout.png"), full_page=True)

    # The next run is a cold start again, and succeeds.
    set_editor(page, "#code", HELLO)
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible(timeout=90_000)
    expect(page.locator("#result-panel .badge-cold")).to_be_visible()
    assert REPORT_COLD.match(lines(page)[-1])
    expect(page.locator("#result-panel pre.json")).to_contain_text('"calls": 1')

    final = server_counts(server["db"])
    assert final["browser"] == before["browser"] + 5
    assert final["not_browser"] == before["not_browser"]
    assert final["environments"] == before["environments"]
    with sqlite3.connect(server["db"]) as conn:
        rows = conn.execute(
            "SELECT status, cold, init_duration_ms IS NOT NULL, error FROM sandbox_invocation "
            "WHERE trigger = 'browser' ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("ok", 1, 1), ("ok", 0, 0), ("error", 1, 1), ("timeout", 1, 1), ("ok", 1, 1)
    ]
    assert '"Sandbox.Timedout"' in rows[3][3]
    page.screenshot(path=str(artifacts / "pyodide-after-timeout.png"), full_page=True)


def _strip_isolation(route):
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if not k.lower().startswith("cross-origin-")}
    route.fulfill(response=response, headers=headers)


def test_without_cross_origin_isolation_a_timeout_terminates_the_worker(page, server, artifacts):
    page.route(re.compile(r"/functions/[\w-]+/$"), _strip_isolation)
    page.goto("/")
    page.get_by_label("New function name").fill("not-isolated")
    page.get_by_role("button", name="New function").click()
    page.wait_for_url(re.compile(r"/functions/[\w-]+/$"))
    page.goto(page.url)  # a plain GET, which the route sees (a redirect's target is not routed)
    assert page.evaluate("window.crossOriginIsolated") is False
    page.get_by_label("my browser").check()
    page.locator("input[name=timeout_s]").fill("1")
    set_editor(page, "#code", LOOP)
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel[data-status=timeout]")).to_be_visible(timeout=90_000)
    expect(page.locator("#result-panel[data-timeout-via=terminate]")).to_have_count(1)
    fatal = page.locator("#log-lines .log-fatal")
    expect(fatal).to_have_text(re.compile(r"Task timed out after 1\.00 seconds$"))
    set_editor(page, "#code", HELLO)
    page.locator("#browser-invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible(timeout=90_000)
    expect(page.locator("#result-panel .badge-cold")).to_be_visible()


def test_the_server_path_still_works_and_the_page_explains_both_runtimes(page, server, artifacts):
    page.goto("/")
    page.get_by_label("New function name").fill("server-still")
    page.get_by_role("button", name="New function").click()
    page.wait_for_url(re.compile(r"/functions/[\w-]+/$"))
    expect(page.locator("#connection[data-state=open]")).to_be_visible()
    expect(page.locator("#browser-invoke-btn")).to_be_hidden()
    page.locator("#invoke-btn").click()
    expect(page.locator("#result-panel[data-status=ok]")).to_be_visible(timeout=30_000)
    expect(page.locator("#log-lines .log-report")).to_have_count(1)
    expect(page.locator("#history a.history-row").first).to_contain_text("console")
    page.locator("#runtimes-lesson summary").click()
    expect(page.locator("#runtimes-lesson")).to_contain_text("download and instantiate Pyodide")
    page.screenshot(path=str(artifacts / "pyodide-server-mode.png"), full_page=True)
