"""Layers in real sandboxed environments: a handler imports modules from /opt/python and
/opt/python/lib/python3.X/site-packages as on Lambda, sees later layers on top, and cannot write
to /opt; without layers /opt is there and empty."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from sandbox.engine.isolation import checked_layers_dir, launch_spec
from sandbox.layers.archive import ZipLimits
from sandbox.layers.store import LayerStore
from tests.layer_support import SITE, layer_zip
from tests.sandbox_helpers import run

LIMITS = ZipLimits(zip_bytes=1 << 20, unzipped_bytes=4 << 20, max_files=100)


@pytest.fixture
def store(tmp_path):
    return LayerStore(tmp_path / "layers", LIMITS)


PROBE = """
import errno, os, sys
import greeting
from sitelib import WHERE

def handler(event, context):
    try:
        with open("/opt/python/greeting.py", "a") as handle:
            handle.write("# changed")
        wrote = "wrote"
    except OSError as exc:
        wrote = errno.errorcode[exc.errno]
    try:
        os.mkdir("/opt/python/new")
        made = "made"
    except OSError as exc:
        made = errno.errorcode[exc.errno]
    with open("/proc/self/mountinfo") as handle:
        opt = [line.split() for line in handle if line.split()[4] == "/opt"]
    return {"greeting": greeting.hello(), "file": greeting.__file__, "site": WHERE,
            "path": sys.path[:4], "wrote": wrote, "made": made, "opt_options": opt[-1][5].split(",")}
"""


def test_a_handler_imports_from_its_layer_and_cannot_write_to_opt(engine, full_isolation, store):
    store.extract(
        "one",
        layer_zip(
            {
                "python/greeting.py": "def hello():\n    return 'hello from a layer'\n",
                f"{SITE}/sitelib.py": "WHERE = 'site-packages'\n",
            }
        ),
    )
    opt = str(store.opt_dir(["one"]))
    records = run(engine, PROBE, events=({}, {}), opt_dir=opt)
    for record in records:
        assert record.status == "ok", record.logs
    result = records[0].result
    assert result["greeting"] == "hello from a layer"
    assert result["file"] == "/opt/python/greeting.py"
    assert result["site"] == "site-packages"
    assert result["path"] == ["/var/task", f"/opt/{SITE}", "/opt/python", "/var/runtime"]
    # Refused by the file's owner and mode first; the mount itself is read-only too.
    assert result["wrote"] in ("EACCES", "EROFS")
    assert result["made"] in ("EACCES", "EROFS")
    assert "ro" in result["opt_options"]
    assert (store.content_dir("one") / "python/greeting.py").read_text().endswith("layer'\n")


def test_later_layers_overlay_earlier_ones_in_opt(engine, full_isolation, store):
    store.extract("base", layer_zip({"python/greeting.py": "def hello():\n    return 'base'\n"}))
    store.extract("patch", layer_zip({"python/greeting.py": "def hello():\n    return 'patched'\n"}))
    source = "import greeting\ndef handler(event, context):\n    return greeting.hello()\n"
    [on_top] = run(engine, source, opt_dir=str(store.opt_dir(["base", "patch"])))
    [below] = run(engine, source, opt_dir=str(store.opt_dir(["patch", "base"])))
    assert (on_top.result, below.result) == ("patched", "base")


def test_without_layers_opt_is_an_empty_directory(engine, full_isolation):
    source = """
import os
def handler(event, context):
    try:
        import greeting
        found = True
    except ImportError:
        found = False
    return {"listing": os.listdir("/opt"), "found": found}
"""
    [record] = run(engine, source)
    assert record.result == {"listing": [], "found": False}


def test_an_opt_dir_named_through_a_link_is_never_mounted(isolation, store, tmp_path):
    """bubblewrap would follow a link in the source of a mount: the engine refuses such a path."""
    store.extract("one", layer_zip({"python/greeting.py": "def hello():\n    return 1\n"}))
    link = tmp_path / "via-link"
    link.symlink_to(store.content_dir("one"))
    if isolation.launcher is not None:  # the launcher is sent the directory the engine opens
        for bad in (str(link), str(link / "python" / ".."), "relative/path"):
            with pytest.raises(ValueError, match="free of links"):
                checked_layers_dir(bad)
        return
    if isolation.bwrap is None:
        pytest.skip("no bubblewrap: nothing is mounted")
    options = {
        "env": {},
        "uid": 0,
        "cgroup_paths": [],
        "seccomp_fd": None,
        "tmp_bytes": 1 << 20,
        "rlimits": {},
    }
    for bad in (str(link), str(link / "python" / ".."), "relative/path"):
        with pytest.raises(ValueError, match="free of links"):
            launch_spec(isolation, opt_dir=bad, **options)
    argv = launch_spec(isolation, opt_dir=str(store.content_dir("one")), **options).argv
    at = argv.index("/opt")
    assert argv[at - 2 : at + 1] == ["--ro-bind", str(store.content_dir("one")), "/opt"]


# ----------------------------------------------------------------------------- the bundled numpy layer

NUMPY_PIN = (Path(__file__).parent.parent / "scripts/layers/coldstart-numpy.txt").read_text()
NUMPY_VERSION = re.search(r"^numpy==(\S+)", NUMPY_PIN, re.M)[1]


def bundled_zip(name):
    path = settings.LAYERS["BUNDLED_DIR"] / f"{name}.zip"
    if not path.exists():
        pytest.fail(f"{path} is missing: `make layers` builds it (make test does)")
    return path.read_bytes()


@pytest.fixture(scope="module")
def numpy_opt(tmp_path_factory):
    store = LayerStore(tmp_path_factory.mktemp("numpy") / "layers", ZipLimits.from_table(settings.LAYERS))
    store.extract("numpy", bundled_zip("coldstart-numpy"))
    return str(store.opt_dir(["numpy"]))


def test_the_bundled_numpy_layer_imports_and_init_duration_grows_with_the_import(
    engine, full_isolation, numpy_opt
):
    with_numpy = """
import numpy

def handler(event, context):
    return {"version": numpy.__version__, "file": numpy.__file__, "sum": int(numpy.arange(10).sum())}
"""
    without = "def handler(event, context):\n    return {}\n"
    [heavy] = run(engine, with_numpy, opt_dir=numpy_opt)
    [light] = run(engine, without, opt_dir=numpy_opt)  # the same /opt, nothing imported from it
    assert heavy.status == "ok", heavy.logs
    assert heavy.result == {"version": NUMPY_VERSION, "file": "/opt/python/numpy/__init__.py", "sum": 45}
    assert heavy.cold and light.cold
    assert heavy.init_duration_ms > light.init_duration_ms
