"""A real Coldstart server (daphne on a free port, its own SQLite file) and Chromium, for the
"Run on: my browser" path (Pyodide in a Web Worker). Nothing is mocked."""

import pytest

from config.static_files import PYODIDE_VERSION
from tests.browser_support import artifacts_dir, launch_chromium, watched_page
from tests.live_server import PROCESS_UID_BASE, REPO_ROOT, LiveServer, sweep_sandboxes

SLOT_UID_BASE = PROCESS_UID_BASE + 18  # see tests/live_server.py
PYODIDE = REPO_ROOT / "static" / "vendor" / "pyodide"


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """{"url", "db"}: daphne on a free port over a freshly migrated SQLite database."""
    core = PYODIDE / PYODIDE_VERSION / "pyodide.asm.wasm"
    if not any(PYODIDE.glob("coldstart_runtime-*.whl")) or not core.exists():
        pytest.fail("static/vendor/pyodide is missing: run `make assets` (scripts/vendor-assets.sh)")
    live = LiveServer(tmp_path_factory.mktemp("coldstart-pyodide-server"), SLOT_UID_BASE, 8).start()
    try:
        yield {"url": live.url, "db": live.workdir / "db.sqlite3"}
    finally:
        live.stop()
        live.reap()
        sweep_sandboxes(live.uids)


@pytest.fixture(scope="package")
def browser():
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, server):
    with watched_page(browser, server["url"], height=1150) as page:
        yield page


@pytest.fixture(scope="package")
def artifacts():
    return artifacts_dir()
