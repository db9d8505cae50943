"""A classroom served the way `make run BIND=0.0.0.0` serves it, reached by name from "students'
devices": Chromium resolves the LAN name classroom.test to 127.0.0.1 (a host-resolver rule),
so nothing leaves this machine's loopback."""

import pytest

from tests.browser_support import artifacts_dir, launch_chromium
from tests.live_server import PROCESS_UID_BASE, LiveServer

LAN_NAME = "classroom.test"
SLOT_UID_BASE = PROCESS_UID_BASE + 31  # see tests/live_server.py
MAX_ENVIRONMENTS = 1
INSTRUCTOR = ("teacher", "a-long-password")


@pytest.fixture(scope="package")
def classroom_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("classroom-server"), SLOT_UID_BASE, MAX_ENVIRONMENTS)
    live.prepare_lessons(INSTRUCTOR)
    live.start(bind="0.0.0.0", public_host=LAN_NAME)
    try:
        yield live
    finally:
        live.stop_and_sweep()


@pytest.fixture(scope="package")
def chromium():
    with launch_chromium([f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1"]) as browser:
        yield browser


@pytest.fixture
def new_context(chromium):
    contexts = []

    def make(width=1366, height=900, **options):
        context = chromium.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def artifacts():
    return artifacts_dir()
