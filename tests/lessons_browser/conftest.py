"""A real Coldstart server (daphne + embedded sandbox worker, its own SQLite file, lessons synced)
and Chromium, for the lessons' end-to-end tests."""

import pytest

from tests.browser_support import artifacts_dir, launch_chromium
from tests.live_server import LiveServer

SLOT_UID_BASE = 65000
MAX_ENVIRONMENTS = 8
INSTRUCTOR = ("teacher", "a-long-password")


@pytest.fixture(scope="package")
def lessons_server(tmp_path_factory):
    """Base URL of a real server with the lessons synced and an instructor account."""
    live = LiveServer(tmp_path_factory.mktemp("lessons-server"), SLOT_UID_BASE, MAX_ENVIRONMENTS)
    live.prepare_lessons(INSTRUCTOR)
    live.start()
    try:
        yield live.url
    finally:
        live.stop_and_sweep()


@pytest.fixture(scope="package")
def chromium():
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def new_page(chromium, lessons_server):
    contexts = []

    def make(width=1440, height=900):
        context = chromium.new_context(base_url=lessons_server, viewport={"width": width, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def artifacts():
    return artifacts_dir()
