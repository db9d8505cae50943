"""A real Coldstart server (daphne, embedded sandbox worker, its own SQLite file) and Chromium."""

import warnings

import pytest

from tests.live_server import PROCESS_UID_BASE, REPO_ROOT, LiveServer, sweep_sandboxes, wait_until_gone

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
SLOT_UID_BASE = PROCESS_UID_BASE + 8  # see tests/live_server.py
MAX_ENVIRONMENTS = 8
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="package")
def server_url(tmp_path_factory):
    """Base URL of a daphne server on a free port, with a freshly migrated SQLite database."""
    server = LiveServer(tmp_path_factory.mktemp("coldstart-server"), SLOT_UID_BASE, MAX_ENVIRONMENTS)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        # The sandboxes should die with the server; idle ones sit frozen in their cgroup, where
        # bwrap's --die-with-parent SIGKILL cannot act (see tests/test_server_shutdown.py).
        survivors = wait_until_gone(server.uids, timeout=2)
        server.reap()
        if survivors:
            warnings.warn(
                f"{len(survivors)} sandbox process(es) outlived the stopped server (pids {survivors}); "
                "removed by cgroups.sweep_stale()",
                pytest.PytestWarning,
                stacklevel=1,
            )
        leftovers = sweep_sandboxes(server.uids)
        assert not leftovers, f"sandbox processes survived even cgroups.sweep_stale(): {leftovers}"


# Package scope, not session: while sync Playwright is open it keeps an event loop running in
# the main thread, and every asyncio.run() in later test packages would fail.
@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server_url):
    """A fresh browser profile (a new guest learner) per test; JavaScript errors fail the test."""
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="package")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
