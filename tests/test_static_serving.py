"""Static files as `make run` serves them: collected with hashed names and gzip/brotli copies,
served by servestatic from a real daphne server with a year's Cache-Control for hashed files and
the versioned Pyodide directory, a minute for the rest, and the cross-origin isolation headers the
in-browser mode needs. Also: which files `STATIC_FROM=auto` picks."""

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

from config.static_files import PYODIDE_DIR, choose_mode
from tests.live_server import PROCESS_UID_BASE, REPO_ROOT, LiveServer, sweep_sandboxes

SLOT_UID_BASE = PROCESS_UID_BASE + 32  # see tests/live_server.py
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """daphne serving collected files. They are collected into the checkout's STATIC_ROOT, as
    `make run` does (compressed copies of unchanged files are kept, so a rerun takes seconds)."""
    if not (REPO_ROOT / "static" / PYODIDE_DIR / "pyodide.asm.wasm").exists():
        pytest.fail("static/vendor is missing: run `make assets` (scripts/vendor-assets.sh)")
    live = LiveServer(tmp_path_factory.mktemp("coldstart-static"), SLOT_UID_BASE, 2)
    live.env.update(STATIC_FROM="collected", STATIC_ROOT=str(REPO_ROOT / "staticfiles"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO_ROOT, env=live.env, check=True, timeout=900,
    )  # fmt: skip
    live.start()
    try:
        yield live.url
    finally:
        live.stop()
        live.reap()
        sweep_sandboxes(live.uids)


def fetch(url, encoding="br, gzip"):
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def max_age(headers):
    return int(re.search(r"max-age=(\d+)", headers["cache-control"]).group(1))


def assert_isolated(headers):
    assert headers["cross-origin-embedder-policy"] == "require-corp"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cross-origin-resource-policy"] == "same-origin"


def test_the_pages_name_hashed_files_that_arrive_compressed_and_cached_for_a_year(server):
    _, _, html = fetch(server + "/api/docs", encoding="identity")
    names = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
    hashed = [n for n in names if re.search(r"\.[0-9a-f]{12}\.(js|css)$", n)]
    assert len(hashed) == len(names) >= 3, names  # the app's JS, Swagger UI's JS and CSS
    _, _, home = fetch(server + "/", encoding="identity")
    css = re.search(r'href="(/static/css/coldstart\.[0-9a-f]{12}\.css)"', home.decode()).group(1)
    for name in [*hashed, css]:
        status, headers, body = fetch(server + name)
        assert status == 200
        assert headers["content-encoding"] == "br", name
        assert "accept-encoding" in headers["vary"].lower()
        assert max_age(headers) >= YEAR and "immutable" in headers["cache-control"], name
        assert_isolated(headers)
        status, headers, _ = fetch(server + name, encoding="gzip")
        assert headers["content-encoding"] == "gzip", name


def test_the_pyodide_runtime_arrives_compressed_and_cached_for_a_year(server):
    base = f"{server}{settings.STATIC_URL}{PYODIDE_DIR}"
    for name, at_most in (("pyodide.asm.wasm", 0.35), ("pyodide.asm.js", 0.3), ("pyodide.js", 0.5)):
        _, _, plain = fetch(base + name, encoding="identity")
        status, headers, body = fetch(base + name)
        assert status == 200
        assert headers["content-encoding"] == "br", name
        assert len(body) < at_most * len(plain), (name, len(body), len(plain))
        assert max_age(headers) >= YEAR and "immutable" in headers["cache-control"], name
        assert_isolated(headers)
    _, headers, _ = fetch(base + "pyodide.asm.wasm", encoding="gzip")
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/wasm"


def test_a_file_without_a_hash_in_its_name_is_cached_only_briefly(server):
    status, headers, _ = fetch(server + "/static/js/api-docs.js")
    assert status == 200
    assert max_age(headers) <= 600 and "immutable" not in headers["cache-control"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        fetch(server + "/static/js/no-such-file.js")
    assert missing.value.code == 404


def test_auto_serves_the_collected_copy_only_while_it_is_newer_than_every_source_file(tmp_path):
    source, root = tmp_path / "static", tmp_path / "collected"
    (source / "js").mkdir(parents=True)
    root.mkdir()
    (source / "js" / "app.js").write_text("1")
    assert choose_mode("auto", root, [source]) == "source", "nothing collected yet"
    (root / "staticfiles.json").write_text("{}")
    later = time.time() + 5
    os.utime(root / "staticfiles.json", (later, later))
    assert choose_mode("auto", root, [source]) == "collected"
    os.utime(source / "js" / "app.js", (later + 5, later + 5))
    assert choose_mode("auto", root, [source]) == "source", "an edit after collectstatic was hidden"
    assert choose_mode("collected", root, [source]) == "collected"
