"""Scale-out on existing engines: PostgreSQL (DATABASE_URL), Redis (REDIS_URL), daphne and two
`runworker` processes, one per shard. Real servers, the same code paths as the embedded default.

Driven end to end: the JSON API, the playground page's WebSocket, a function URL, a lesson
Check; then a minute of idleness (redis-py 8 used to kill idle workers), a Redis restart
(workers reconnect instead of exiting), and a worker killed mid-invocation.
"""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from websockets.sync.client import connect as websocket_connect

from tests.live_server import wait_until_gone
from tests.sandbox_helpers import processes_of_uids, remove_cgroup_group
from tests.services import MissingServer, RedisServer, free_port, postgres_cluster, wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.redis

SHARDS = 2
MAX_ENVIRONMENTS = 4  # the host's, split between the shards (2 each)
SLOT_UID_BASE = 62500  # see tests/live_server.py; each worker leases its own block of 4 from here
INSTANCE = "test-scale-out"
IDLE_SECONDS = 65  # longer than any timeout of the Redis client or of channels-redis
FINISHED_PANEL = re.compile(r'<section id="result-panel"[^>]*data-status="([a-z]+)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

GREETER = "def handler(event, context):\n    print('hi', event.get('n'))\n    return {'n': event.get('n')}\n"
SOLUTION = (ROOT / "lessons/content/first-function/steps/1/solution.py").read_text()


@pytest.fixture(scope="module")
def database_url():
    try:
        with postgres_cluster() as url:
            yield url
    except MissingServer as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except MissingServer as error:
        pytest.fail(str(error))
    yield server
    server.stop()


class Site:
    """daphne and one `runworker sandbox-<n>` per shard, sharing PostgreSQL and Redis."""

    def __init__(self, workdir, database_url, redis_url):
        self.workdir = workdir
        self.database_url = database_url
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SANDBOX_WORKER_SHARDS=str(SHARDS),
            SANDBOX_MAX_ENVIRONMENTS=str(MAX_ENVIRONMENTS),
            SANDBOX_SLOT_UID_BASE=str(SLOT_UID_BASE),
            INSTANCE=INSTANCE,
            WORKER_STALE_SECONDS="2",
            PYTHONUNBUFFERED="1",
        )
        self.workers = {}
        self.processes = []

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True, text=True, timeout=180,
        ).stdout  # fmt: skip

    def spawn(self, name, argv):
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self):
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("sync_lessons")
        self.token = self.manage("create_api_token", "scale-tester").strip()
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        daphne = [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port)]
        daphne.append("config.asgi:application")
        self.web = self.spawn("daphne", daphne)
        for shard in range(SHARDS):
            self.start_worker(shard)
        healthy = lambda: urllib.request.urlopen(f"{self.base}/healthz", timeout=1).status == 200  # noqa: E731
        wait_for(healthy, what="daphne")
        return self

    def start_worker(self, shard):
        worker = self.spawn(f"worker-{shard}", [sys.executable, "manage.py", "runworker", f"sandbox-{shard}"])
        self.workers[shard] = worker
        return worker

    def log(self, name):
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def sql(self, query, *params):
        with psycopg.connect(self.database_url) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount


@pytest.fixture(scope="module")
def site(database_url, redis, tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("site"), database_url, redis.url).start()
    yield site
    site.stop()  # SIGTERM, as a service manager stops them
    uids = {SLOT_UID_BASE + n for n in range(SHARDS * MAX_ENVIRONMENTS)}
    left = wait_until_gone(uids, timeout=10)  # exited ones may wait a moment to be reaped
    described = [describe_process(pid) for pid in left]
    remove_cgroup_group(f"coldstart-{INSTANCE}")
    for pid in processes_of_uids(uids):
        os.kill(pid, signal.SIGKILL)
    assert not left, f"sandbox processes outlived the workers: {described}"


def describe_process(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        cgroup = Path(f"/proc/{pid}/cgroup").read_text().replace("\n", " ")
        return {k: fields[k].strip() for k in ("Name", "State", "PPid", "Uid")} | {"cgroup": cgroup}
    except FileNotFoundError:
        return {"pid": pid, "gone": True}


def api(site, method, path, body=None, timeout=60):
    request = urllib.request.Request(
        site.base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def invoke(site, slug, event, timeout=60):
    return api(site, "POST", f"/api/functions/{slug}/invocations", {"event": event}, timeout=timeout)


@pytest.fixture(scope="module")
def functions(site):
    """One API function per shard (a function always goes to worker `id % SHARDS`)."""
    by_shard = {}
    while len(by_shard) < SHARDS:
        body = {"name": f"fn-{len(by_shard)}", "code": GREETER}
        status, created = api(site, "POST", "/api/functions", body)
        assert status == 201, created
        [(function_id,)] = site.sql("SELECT id FROM sandbox_function WHERE slug = %s", created["slug"])
        by_shard.setdefault(function_id % SHARDS, created["slug"])
    return by_shard


def served_by(site, request_id):
    [(worker_id,)] = site.sql("SELECT worker_id FROM sandbox_invocation WHERE request_id = %s", request_id)
    return int(worker_id.rsplit(":", 1)[1])


def worker_ancestor(pid, worker_pids):
    while pid > 1:
        if pid in worker_pids:
            return pid
        status = Path(f"/proc/{pid}/status").read_text()
        pid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
    return None


def test_the_api_runs_each_shards_functions_on_its_own_worker(site, functions):
    worker_pids = {shard: worker.pid for shard, worker in site.workers.items()}
    for shard, slug in functions.items():
        status, first = invoke(site, slug, {"n": shard})
        assert status == 200, first
        assert (first["status"], first["result"], first["cold"]) == ("ok", {"n": shard}, True)
        assert f"hi {shard}" in first["logs"]
        assert served_by(site, first["request_id"]) == worker_pids[shard]
        status, second = invoke(site, slug, {"n": 7})
        assert (status, second["cold"]) == (200, False), "the worker did not keep the warm environment"


def test_two_workers_on_one_host_run_their_sandboxes_as_different_uids(site, functions, full_isolation):
    for slug in functions.values():
        assert invoke(site, slug, {})[0] == 200  # a warm environment on each worker
    workers = {worker.pid for worker in site.workers.values()}
    owner_uids = {}
    for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SHARDS * MAX_ENVIRONMENTS):
        for pid in processes_of_uids({uid}):
            owner_uids.setdefault(worker_ancestor(pid, workers), set()).add(uid)
    assert set(owner_uids) == workers, f"sandboxes by worker: {owner_uids}"
    first, second = owner_uids.values()  # each shard's slots: its half of the leased range
    assert not first & second, owner_uids


# ------------------------------------------------------------------ a learner in a browser
class Learner:
    """A browser's session: a guest learner, cookies, CSRF tokens."""

    def __init__(self, site):
        self.site = site
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path):
        with self.opener.open(self.site.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path, fields, headers=None):
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(f"{self.site.base}{path}", data=data, headers=headers or {})
        with self.opener.open(request, timeout=90) as response:
            return response.read().decode()

    def cookie(self, name):
        return next(c.value for c in self.cookies if c.name == name)

    def socket(self, slug):
        return websocket_connect(
            self.site.base.replace("http", "ws", 1) + f"/ws/functions/{slug}/",
            additional_headers={"Cookie": f"sessionid={self.cookie('sessionid')}", "Origin": self.site.base},
            open_timeout=10,
        )


def open_first_step(site):
    """A visitor opens step 1 and saves the draft: that first POST makes the guest learner and
    the step's function (a page view makes nothing)."""
    learner = Learner(site)
    draft = learner.get("/lessons/first-function/1/")
    token = CSRF_FIELD.search(draft).group(1)
    page = learner.post("/lessons/first-function/1/begin", {"csrfmiddlewaretoken": token, "action": "save"})
    slug = re.search(r"/functions/([\w-]+)/scale/", page).group(1)
    return learner, page, slug


def invoke_over_socket(socket, code, event):
    """What the page's ▶ Invoke sends; the fragments that come back, until the result panel."""
    socket.send(json.dumps({"action": "invoke", "code": code, "event": json.dumps(event),
                            "memory_mb": "128", "timeout_s": "3", "handler": "handler"}))  # fmt: skip
    received = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fragment = socket.recv(timeout=deadline - time.monotonic())
        received.append(fragment)
        finished = FINISHED_PANEL.search(fragment)
        if finished:
            return finished.group(1), "".join(received)
    raise AssertionError("no result panel within 60 s")


def test_the_playground_page_streams_an_invocation_over_websocket(site):
    learner, _, slug = open_first_step(site)
    with learner.socket(slug) as socket:
        status, fragments = invoke_over_socket(socket, SOLUTION, {"name": "Grace"})
    assert status == "ok", fragments
    assert "Greeting Grace" in fragments
    assert "REPORT RequestId" in fragments


def test_a_function_url_invokes_the_function_through_a_worker(site):
    _, _, slug = open_first_step(site)
    site.sql("UPDATE sandbox_function SET code = %s WHERE slug = %s", SOLUTION, slug)
    with urllib.request.urlopen(f"{site.base}/fn/{slug}/", timeout=60) as response:
        assert response.status == 200
        assert response.read().decode() == "Hello, world!"


def test_a_lesson_check_passes_through_the_workers(site):
    learner, page, _ = open_first_step(site)
    token = CSRF_FIELD.search(page).group(1)
    result = learner.post(
        "/lessons/first-function/1/check",
        {"csrfmiddlewaretoken": token, "code": SOLUTION, "handler": "handler"},
        headers={"HX-Request": "true"},
    )
    assert "check-pass" in result, result


# ------------------------------------------------------------------ staying up
@pytest.mark.timeout(IDLE_SECONDS + 120)
def test_idle_workers_and_an_idle_page_still_invoke_after_a_minute(site, functions):
    learner, _, slug = open_first_step(site)
    with learner.socket(slug) as socket:
        assert invoke_over_socket(socket, SOLUTION, {"name": "before"})[0] == "ok"
        time.sleep(IDLE_SECONDS)  # nothing happens: the blocking reads must outlast it
        for shard, worker in site.workers.items():
            assert worker.poll() is None, f"worker {shard} exited while idle:\n{site.log(f'worker-{shard}')}"
        status, fragments = invoke_over_socket(socket, SOLUTION, {"name": "after"})
        assert status == "ok" and "Greeting after" in fragments
    for shard, slug in functions.items():
        status, record = invoke(site, slug, {"n": shard})
        assert (status, record.get("status")) == (200, "ok"), record
    for name in ("daphne", *(f"worker-{shard}" for shard in site.workers)):
        assert "TimeoutError" not in site.log(name), site.log(name)


def test_workers_reconnect_when_redis_restarts(site, functions, redis):
    redis.stop()
    noticed = lambda: all("lost Redis" in site.log(f"worker-{shard}") for shard in site.workers)  # noqa: E731
    wait_for(noticed, what="the workers to notice")
    for shard, worker in site.workers.items():
        assert worker.poll() is None, f"worker {shard} exited without Redis:\n{site.log(f'worker-{shard}')}"
    redis.start()
    for shard, slug in functions.items():
        status, record = invoke(site, slug, {"n": shard})
        assert (status, record.get("status")) == (200, "ok"), record


def test_an_invocation_whose_worker_dies_is_failed_with_a_reason_within_seconds(site, functions):
    shard, slug = 1, functions[1]
    code = "import time\ndef handler(event, context):\n    time.sleep(30)\n"
    assert api(site, "PUT", f"/api/functions/{slug}", {"code": code, "timeout_s": 60})[0] == 200
    outcome = {}
    caller = threading.Thread(target=lambda: outcome.update(response=invoke(site, slug, {}, timeout=90)))
    caller.start()
    wait_for(
        lambda: site.sql("SELECT 1 FROM sandbox_invocation i JOIN sandbox_function f ON f.id = i.function_id "
                         "WHERE f.slug = %s AND i.status = 'running'", slug),
        what="the invocation to be running",
    )  # fmt: skip
    killed_at = time.monotonic()
    site.workers[shard].kill()
    site.workers[shard].wait(10)
    caller.join(60)
    elapsed = time.monotonic() - killed_at
    status, body = outcome["response"]
    assert status == 503
    assert "stopped" in body["error"]["message"]
    assert elapsed < 15
    site.start_worker(shard)  # the class goes on
    api(site, "PUT", f"/api/functions/{slug}", {"code": GREETER, "timeout_s": 3})
    status, record = invoke(site, slug, {"n": 1})
    assert (status, record.get("status")) == (200, "ok"), record
