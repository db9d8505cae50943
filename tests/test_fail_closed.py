"""Fail closed (docs/security.md, attack 9): full isolation unless weak isolation is allowed
explicitly, and then every page says what is missing; /healthz names the missing layers to
staff only."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from sandbox.web import status
from tests.live_server import REPO_ROOT

pytestmark = pytest.mark.django_db


def _python(code, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


SHOW_REQUIRE = (
    "import django; django.setup(); from django.conf import settings; print(settings.SANDBOX['REQUIRE'])"
)


def test_full_isolation_is_required_by_default():
    done = _python(SHOW_REQUIRE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "full"


def test_asking_for_less_needs_the_explicit_opt_out():
    refused = _python(SHOW_REQUIRE, SANDBOX_REQUIRE="namespaces")
    assert refused.returncode != 0
    assert "SANDBOX_ALLOW_WEAK_ISOLATION=true" in refused.stderr
    allowed = _python(SHOW_REQUIRE, SANDBOX_REQUIRE="namespaces", SANDBOX_ALLOW_WEAK_ISOLATION="true")
    assert allowed.returncode == 0 and allowed.stdout.strip() == "namespaces"
    anything = _python(SHOW_REQUIRE, SANDBOX_ALLOW_WEAK_ISOLATION="true")
    assert anything.stdout.strip() == "rlimits-only"


def test_the_server_refuses_to_start_on_a_host_that_cannot_isolate_unless_allowed():
    # A host without bubblewrap (none on PATH) where the launcher is not used: the real
    # detection says so.
    refused = _python("import config.asgi", PATH="/nonexistent", SANDBOX_SPAWN="bwrap")
    assert refused.returncode != 0
    assert "SANDBOX_REQUIRE=full but this host gives isolation level rlimits-only" in refused.stderr
    assert "SANDBOX_ALLOW_WEAK_ISOLATION=true" in refused.stderr
    allowed = _python(
        "import config.asgi", PATH="/nonexistent", SANDBOX_SPAWN="bwrap", SANDBOX_ALLOW_WEAK_ISOLATION="true"
    )
    assert allowed.returncode == 0, allowed.stderr


@pytest.fixture
def weak_host(monkeypatch, settings):
    """This host as one without bubblewrap or the launcher, with weak isolation allowed (the real
    detection)."""
    monkeypatch.setenv("PATH", "/nonexistent")
    settings.SANDBOX = {
        **settings.SANDBOX, "ALLOW_WEAK_ISOLATION": True, "REQUIRE": "rlimits-only", "SPAWN": "bwrap"
    }
    status.isolation_status.cache_clear()
    yield status.isolation_status()
    status.isolation_status.cache_clear()


def test_with_weak_isolation_every_page_shows_a_red_banner_naming_what_is_missing(weak_host, settings):
    assert weak_host.level == "rlimits-only"
    from lessons.loader import sync

    sync()
    client = Client(HTTP_HOST="localhost")
    for url in ("/", "/lessons/", "/lessons/first-function/1/", "/lessons/join", "/instructor/login"):
        page = client.get(url).content.decode()
        assert 'id="weak-isolation"' in page, url
        assert "bubblewrap is not installed" in page and "rlimits-only" in page, url
    # The server still serves a learner who acts.
    assert client.post("/functions/new", {"name": "still"}).status_code == 302


def test_with_full_isolation_no_banner():
    status.isolation_status.cache_clear()
    assert status.isolation_status().level == "full"
    page = Client(HTTP_HOST="localhost").get("/").content.decode()
    assert 'id="weak-isolation"' not in page


def test_healthz_keeps_the_level_public_and_the_missing_layers_for_staff(weak_host):
    anonymous = Client(HTTP_HOST="localhost").get("/healthz").json()
    assert anonymous == {"status": "ok", "isolation_level": "rlimits-only"}
    learner = Client(HTTP_HOST="localhost")
    learner.force_login(get_user_model().objects.create_user(username="ada"))
    assert "isolation_missing" not in learner.get("/healthz").json()
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(get_user_model().objects.create_user(username="root", is_staff=True))
    body = staff.get("/healthz").json()
    assert body["isolation_level"] == "rlimits-only"
    assert any("bubblewrap" in layer for layer in body["isolation_missing"])
