"""A real Coldstart server (daphne + embedded sandbox worker, its own SQLite file, lessons synced)
and Chromium, for the lessons' end-to-end tests."""

import contextlib

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


@contextlib.contextmanager
def page_factory(chromium, base_url, width, height, timeout_ms):
    """make(width, height) -> a page in a browser context of its own (a learner of its own) on
    `base_url`; every context is closed when the block ends."""
    contexts = []

    def make(width=width, height=height):
        context = chromium.new_context(base_url=base_url, viewport={"width": width, "height": height})
        context.set_default_timeout(timeout_ms)
        contexts.append(context)
        return context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def new_page(chromium, lessons_server):
    with page_factory(chromium, lessons_server, 1440, 900, 20_000) as make:
        yield make


@pytest.fixture(scope="package")
def artifacts():
    return artifacts_dir()
