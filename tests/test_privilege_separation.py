"""`make run` as root (`manage.py serve --web-user`): only the sandbox launcher keeps root. daphne
and a `runworker sandbox` (REDIS_URL) run as the unprivileged web user, write their data as it,
and still get full isolation from the launcher; stopping the server stops every environment.
Real processes: redis-server, daphne, a worker, the launcher, a sandbox."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from config import privileges
from sandbox.launcher.protocol import INIT_TITLE
from tests.live_server import PROCESS_UID_BASE
from tests.sandbox_helpers import processes_of_uids, remove_cgroup_group
from tests.services import MissingServer, RedisServer, free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
WEB_USER = "coldstart"
INSTANCE = f"privsep-{os.getpid()}"
SLOT_UID_BASE = PROCESS_UID_BASE + 36  # see tests/live_server.py
SLOTS = 2
WHO = "import os\n\ndef handler(event, context):\n    return {'uid': os.getuid(), 'pid': os.getpid()}\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("privilege separation needs root")
    try:
        redis = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except MissingServer as error:
        pytest.fail(str(error))
    data = Path(tempfile.mkdtemp(prefix="coldstart-privsep-"))  # under /tmp: the web user reaches it
    data.chmod(0o755)
    port = free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        COLDSTART_DATA_DIR=str(data / "data"),
        LAYERS_ROOT=str(data / "layers"),
        REDIS_URL=redis.url,
        INSTANCE=INSTANCE,
        PORT=str(port),
        BIND="127.0.0.1",
        SANDBOX_MAX_ENVIRONMENTS=str(SLOTS),
        SANDBOX_SLOT_UID_BASE=str(SLOT_UID_BASE),
        STATIC_FROM="source",
        PYTHONUNBUFFERED="1",
    )
    for name in ("SQLITE_PATH", "DATABASE_URL", "SANDBOX_LAUNCHER_SOCKET", "SANDBOX_SPAWN"):
        env.pop(name, None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    token = subprocess.run(
        [*manage, "create_api_token", "privsep-tester"], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    log = (data / "serve.log").open("wb")
    server = subprocess.Popen(
        [*manage, "serve", "--web-user", WEB_USER, "--workers", "1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(base + "/healthz", timeout=1).status == 200, what="daphne")
        yield {"base": base, "token": token, "server": server, "data": data / "data"}
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        log.close()
        uids = {SLOT_UID_BASE + n for n in range(SLOTS)}
        for pid in processes_of_uids(uids):
            os.kill(pid, signal.SIGKILL)
        remove_cgroup_group(f"coldstart-{INSTANCE}")
        redis.stop()
        shutil.rmtree(data, ignore_errors=True)


def api(site, method, path, body=None):
    request = urllib.request.Request(
        site["base"] + "/api" + path, method=method, data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {site['token']}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def children_of(pid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def owner(pid):
    return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name


def cmdline(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def test_the_web_process_and_the_worker_run_unprivileged_with_full_isolation(served):
    status = json.loads(urllib.request.urlopen(served["base"] + "/healthz", timeout=5).read())
    assert status["isolation_level"] == "full"
    children = {pid: cmdline(pid) for pid in children_of(served["server"].pid)}
    web = [pid for pid, line in children.items() if "config.serve" in line]
    workers = [pid for pid, line in children.items() if "runworker" in line]
    launchers = [pid for pid, line in children.items() if "sandbox/launcher/__main__.py" in line]
    assert len(web) == 1 and len(workers) == 1 and len(launchers) == 1, children
    assert owner(web[0]) == WEB_USER and owner(workers[0]) == WEB_USER
    assert owner(launchers[0]) == "root"
    assert privileges.launcher_socket(INSTANCE).exists()
    data = served["data"]
    for name in ("db.sqlite3", ".secret_key"):
        assert pwd.getpwuid((data / name).stat().st_uid).pw_name == WEB_USER, name


def test_an_invocation_runs_in_an_environment_the_launcher_built_for_the_worker(served):
    slug = api(served, "POST", "/functions", {"name": "who", "code": WHO})["slug"]
    record = api(served, "POST", f"/functions/{slug}/invocations", {})
    assert record["status"] == "ok", record
    assert record["cold"] is True and record["init_duration_ms"] > 0
    uid = record["result"]["uid"]
    assert SLOT_UID_BASE <= uid < SLOT_UID_BASE + SLOTS and record["result"]["pid"] == 2
    (runtime,) = processes_of_uids({uid})
    init = int(Path(f"/proc/{runtime}/stat").read_text().rpartition(")")[2].split()[1])
    assert cmdline(init) == INIT_TITLE and owner(init) == "root"
    again = api(served, "POST", f"/functions/{slug}/invocations", {})
    assert (again["status"], again["cold"], again["result"]["uid"]) == ("ok", False, uid)


def test_stopping_the_server_stops_the_launcher_and_every_environment(served):
    slug = api(served, "POST", "/functions", {"name": "stays", "code": WHO})["slug"]
    uid = api(served, "POST", f"/functions/{slug}/invocations", {})["result"]["uid"]
    assert processes_of_uids({uid})
    served["server"].send_signal(signal.SIGTERM)
    served["server"].wait(30)
    uids = {SLOT_UID_BASE + n for n in range(SLOTS)}
    wait_for(lambda: not processes_of_uids(uids), what="the environments to go")
    assert not privileges.launcher_socket(INSTANCE).exists()
