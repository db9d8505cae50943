"""A real Coldstart server (daphne on a free port, its own SQLite file) and Chromium, for the
"Run on: my browser" path (Pyodide in a Web Worker). Nothing is mocked."""

import pytest

from tests.live_server import PROCESS_UID_BASE, REPO_ROOT, LiveServer, sweep_sandboxes

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
SLOT_UID_BASE = PROCESS_UID_BASE + 18  # see tests/live_server.py
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PYODIDE = REPO_ROOT / "static" / "vendor" / "pyodide"


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """{"url", "db"}: daphne on a free port over a freshly migrated SQLite database."""
    if not any(PYODIDE.glob("coldstart_runtime-*.whl")) or not (PYODIDE / "pyodide.asm.wasm").exists():
        pytest.fail("static/vendor/pyodide is missing: run `make assets` (scripts/vendor-assets.sh)")
    live = LiveServer(tmp_path_factory.mktemp("coldstart-pyodide-server"), SLOT_UID_BASE, 8).start()
    try:
        yield {"url": live.url, "db": live.workdir / "db.sqlite3"}
    finally:
        live.stop()
        live.reap()
        sweep_sandboxes(live.uids)


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
def page(browser, server):
    context = browser.new_context(base_url=server["url"], viewport={"width": 1280, "height": 1150})
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
