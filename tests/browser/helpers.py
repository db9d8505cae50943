"""What the browser tests do on Coldstart's pages: create a function, set an editor, find rows."""

import re

from playwright.sync_api import expect


def new_function(page, name):
    """Create a function from the home page's form; return once the page's socket is live."""
    page.goto("/")
    page.get_by_label("New function name").fill(name)
    page.get_by_role("button", name="New function").click()
    page.wait_for_url(re.compile(r"/functions/[\w-]+/$"))
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("#connection[data-state=open]")).to_be_visible()


def set_editor(page, selector, text):
    page.evaluate(
        "([selector, text]) => window.ColdstartEditor.setValue(document.querySelector(selector), text)",
        [selector, text],
    )


def history_rows(page):
    return page.locator("#history a.history-row")


def log_line(page, text):
    """A line of the current run's log (the open run of the log pane)."""
    return page.locator("#log-lines .log-line").filter(has_text=re.compile(rf"^{re.escape(text)}$"))


def slug_of(page):
    return page.url.rstrip("/").split("/functions/")[1].split("/")[0]


def function_invoked_once(page, name, code=None):
    """A new function (with `code`), invoked once from the page; returns when the run is over."""
    new_function(page, name)
    if code is not None:
        set_editor(page, "#code", code)
    page.locator("#invoke-btn").click()
    expect(history_rows(page)).to_have_count(1, timeout=30_000)
    expect(page.locator("#invoke-btn")).to_be_enabled()
