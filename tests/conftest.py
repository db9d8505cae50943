import os

import pytest
from django.conf import settings

from sandbox.engine import cgroups, uidlease
from sandbox.engine.core import Engine
from sandbox.engine.isolation import detect
from sandbox.engine.outcomes import Limits
from sandbox.engine.rules.billing import Prices
from sandbox.engine.slots import SlotPool
from tests.sandbox_helpers import processes_of_uids

SLOT_COUNT = 16
# Apart from the server's default 60000, and distinct per test process, so a dev server or a
# second test run on the same machine is never swept by this run's leak checks.
SLOT_UID_BASE = 61000 + (os.getpid() % 200) * SLOT_COUNT


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache (sandbox/web/ratelimit.py): no test inherits them."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def layers_root(settings, tmp_path):
    """A LAYERS_ROOT of this test's own (sandbox/layers/store.py), so no test writes to var/."""
    settings.LAYERS = {**settings.LAYERS, "ROOT": tmp_path / "layers"}
    return tmp_path / "layers"


@pytest.fixture(scope="session")
def isolation():
    return detect(require=os.environ.get("SANDBOX_REQUIRE") or None, spawn=settings.SANDBOX["SPAWN"])


@pytest.fixture(scope="session")
def slot_uid_base(isolation):
    """This test process's slot uids, leased as a worker leases them (the launcher runs
    environments only as uids their worker holds)."""
    if not isolation.switch_uid:
        return SLOT_UID_BASE
    return uidlease.lease(SLOT_UID_BASE, SLOT_COUNT)


@pytest.fixture
def engine(isolation, slot_uid_base):
    """A real engine; after the test, nothing it started may be left (processes, cgroups, slots),
    and no pool on it holds a busy slot without an invocation running or a dead environment."""
    limits = Limits.from_table(settings.SANDBOX)
    eng = Engine(isolation, limits, SlotPool(SLOT_COUNT, slot_uid_base), Prices())
    yield eng
    broken = {id(pool): pool.leaks() for pool in list(eng.pools)}
    uids = {slot_uid_base + n for n in range(SLOT_COUNT)}
    leftovers = processes_of_uids(uids) if isolation.switch_uid else []
    for pid in leftovers:  # sweep, so one failure does not poison the next tests
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    cgroups.sweep_stale()
    assert not any(broken.values()), f"a pool broke its invariants: {broken}"
    assert eng.slots.in_use == 0, "an environment slot was not given back"
    assert not leftovers, f"sandbox processes survived the test: {leftovers}"
    if isolation.cgroup_version:
        assert not _own_environment_cgroups(), "an environment cgroup was left behind"


def _own_environment_cgroups():
    """This test process's environment cgroups still on disk (others' are none of its business)."""
    prefix = f"w{os.getpid()}-"
    bases = cgroups._v1_bases().values() if cgroups.detect_version() == 1 else [cgroups._v2_base()]
    found = []
    for base in bases:
        try:
            found += [d for d in base.iterdir() if d.name.startswith(prefix)]
        except FileNotFoundError:
            pass
    return found


@pytest.fixture
def full_isolation(isolation):
    if isolation.level != "full":
        if os.environ.get("SANDBOX_REQUIRE") == "full":
            pytest.fail(isolation.describe())
        pytest.skip(f"needs full isolation; {isolation.describe()}")
    return isolation


def pytest_sessionfinish(session, exitstatus):
    """pytest-django removes the test database file, not SQLite's WAL companions: sweep them."""
    import glob

    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name:
        for path in glob.glob(f"{name}-*"):
            os.unlink(path)
