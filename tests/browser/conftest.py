"""A real Coldstart server (daphne, embedded sandbox worker, its own SQLite file) and Chromium."""

import contextlib

import pytest

from tests.browser_support import artifacts_dir, launch_chromium, watched_page
from tests.live_server import PROCESS_UID_BASE, LiveServer

SLOT_UID_BASE = PROCESS_UID_BASE + 8  # see tests/live_server.py
MAX_ENVIRONMENTS = 8


@pytest.fixture(scope="package")
def server_url(tmp_path_factory):
    """Base URL of a daphne server on a free port, with a freshly migrated SQLite database."""
    server = LiveServer(tmp_path_factory.mktemp("coldstart-server"), SLOT_UID_BASE, MAX_ENVIRONMENTS)
    server.start()
    server.manage("sync_layers")  # the bundled layers (make test builds them), as `make run` does
    try:
        yield server.url
    finally:
        server.stop_and_sweep()


@pytest.fixture(scope="package")
def browser():
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, server_url):
    with watched_page(browser, server_url) as page:
        yield page


@pytest.fixture(scope="package")
def artifacts():
    return artifacts_dir()


@pytest.fixture
def open_page(browser, server_url):
    """open_page(width, height, **context_options): more pages, each a new guest learner (e.g. a
    1280x720 projector, or color_scheme="dark"); closed, and checked for script errors, after."""
    with contextlib.ExitStack() as stack:

        def opener(width=1280, height=1000, **options):
            return stack.enter_context(watched_page(browser, server_url, width, height, **options))

        yield opener
