"""Chromium for the browser test packages: one way to launch it, open a page, keep artifacts."""

import contextlib
import os
import shutil
import subprocess

from tests.live_server import REPO_ROOT

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
# Where each distro puts Chromium: Debian's deb, Ubuntu's snap (its chromium-browser deb is only a
# stub that asks for the snap), then Playwright's own download (`playwright install chromium`).
CHROMIUM_CANDIDATES = ["chromium", "/snap/bin/chromium", "chromium-browser", "google-chrome"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def find_chromium():
    """CHROMIUM if set, else the first Chromium here that runs; None for Playwright's own."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path and _runs(path):
            return path
    return None


def _runs(path):
    try:
        return subprocess.run([path, "--version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def launch_chromium(extra_args=()):
    """Chromium (find_chromium) under sync Playwright. Use it from a package-scoped fixture, not a
    session one: while sync Playwright is open it keeps an event loop running in the main
    thread, and every asyncio.run() in later test packages would fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = find_chromium()
        args = [*CHROMIUM_ARGS, *extra_args]
        browser = playwright.chromium.launch(executable_path=executable, args=args, headless=True)
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
