"""Chromium for the browser test packages: one way to launch it, open a page, keep artifacts."""

import contextlib

from tests.live_server import REPO_ROOT

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextlib.contextmanager
def launch_chromium(extra_args=()):
    """Debian's Chromium under sync Playwright. Use it from a package-scoped fixture, not a
    session one: while sync Playwright is open it keeps an event loop running in the main
    thread, and every asyncio.run() in later test packages would fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        args = [*CHROMIUM_ARGS, *extra_args]
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def watched_page(browser, base_url, width=1280, height=1000, timeout_ms=15_000, **context_options):
    """A page in a fresh browser profile (a new guest learner); JavaScript errors fail the test.
    `context_options` go to Playwright's new_context (e.g. color_scheme="dark")."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": height}, **context_options
    )
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
