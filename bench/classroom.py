"""A class on one server: N learners on the real playground, the Scaling tab and Check, then a
separate API-only throughput run. Real daphne (embedded worker, its own SQLite file, the
isolation the host gives root), real HTTP and WebSocket on loopback; nothing mocked.

    .venv/bin/python bench/classroom.py               (part of `make bench`; 40 learners)
    .venv/bin/python bench/classroom.py --learners 60
    .venv/bin/python bench/classroom.py --only api    (or --only class)
    .venv/bin/python bench/classroom.py --scale-out   (PostgreSQL + Redis + daphne + 2 workers)
    .venv/bin/python bench/classroom.py --py-spy DIR  (profiles; bench/spy_summary.py reads them)

Each learner is a browser of its own: it opens a lesson step and saves the draft playground
(POST /begin: a guest session and the step's function), answers the step's prediction, keeps
the step's playground WebSocket open, and every 1-2 s presses Invoke on a
trivial handler (3 prints, a 50 ms sleep), sending edited code (a cold start) every few
invokes. A quarter of them also run a small load test from the Scaling tab on a second function
while they invoke. At the end every learner presses Check on the cold-starts step (most with
the reference solution, some with the starter), while the load tests still run.

Figures (bench/results/classroom.json, table on stdout): p50/p99 of Invoke -> first log line and
Invoke -> REPORT line as the browser sees them, failures not caused by the handler (it never
fails), Check verdicts wrong because of load, invocations/s the server finished, the server
process's CPU and peak RSS; and, on a fresh server, sustained invocations/s through the JSON
API with 40 clients invoking back to back. Each figure's baseline is measured in the same run:
a single learner alone on the same server before the class starts (latency), one API client
alone (throughput). Bounded: fixed durations, per-request timeouts, loopback only.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import websockets  # noqa: E402

from bench.engine import Figure, host_busy_percent, machine_info, percentile, table  # noqa: E402
from bench.httpclient import HttpClient  # noqa: E402
from sandbox.engine.isolation import detect  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "classroom.json"
# Slot uids far from every range tests and other benches use (bench/README.md).
UID_BASE = int(os.environ.get("BENCH_SLOT_UID_BASE") or 4_300_000)
LESSON, STEP = "cold-starts", 1
STEP_DIR = ROOT / "lessons" / "content" / LESSON / "steps" / str(STEP)
SOLUTION = (STEP_DIR / "solution.py").read_text()
STARTER = (STEP_DIR / "starter.py").read_text()
TRIVIAL = """import time
VERSION = {version}


def handler(event, context):
    print("one", VERSION)
    time.sleep(0.05)
    print("two")
    print("three")
    return {{"version": VERSION}}
"""
PANEL = re.compile(r'<section id="result-panel"[^>]*data-status="([a-z]+)"')
SLUG = re.compile(r'data-slug="([\w-]+)"')
LOG_FRAME = '<div id="log-lines" hx-swap-oob="beforeend">'
INVOKE_TIMEOUT_S = 30
CHECK_TIMEOUT_S = 120


def log(message):
    print(message, file=sys.stderr, flush=True)


def figure(name, unit, value, baseline_name, baseline, goal, met):
    """A Figure whose ratio is value / baseline (NaN, written as null, without a baseline)."""
    ratio = value / baseline if baseline else float("nan")
    return Figure(name, unit, value, baseline_name, baseline, ratio, goal, met)


def finite(value):
    return None if isinstance(value, float) and value != value else value


# ------------------------------------------------------------------------------ the server
class ServerProbe:
    """CPU seconds and peak RSS of the server's processes (daphne: the web side and the embedded
    worker; with --scale-out, daphne and the workers: CPU summed, peak RSS summed per process)."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.ticks = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(self):
        total = 0.0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / self.ticks
        return total

    def peak_rss_mb(self):
        total = 0.0
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        return total


class Profiler:
    """py-spy sampling the server process while a part runs (--py-spy DIR): collapsed stacks,
    one line per stack with its sample count, for bench/spy_summary.py or any flame graph.
    Idle samples are kept: a thread waiting on a lock or a query shows where the time goes."""

    def __init__(self, directory, name, pid):
        self.process = None
        if directory is None:
            return
        import subprocess

        directory.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).parent / "py-spy"
        self.process = subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--threads",
                "--idle",
                "--nonblocking",  # sampling must not pause the server it measures
                "--output",
                str(directory / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self):
        if self.process is not None:
            import signal

            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)


class HostProbe:
    """Where the CPU went while a part ran, beside the server: this benchmark's own clients (one
    process) and the whole host (sandboxes, the launcher, other work on a shared host), in
    cores. When the server's loop waits and the host is full, the sandboxes wait for CPU."""

    def __init__(self):
        self.client0 = self._client()
        self.host0 = self._host()

    @staticmethod
    def _client():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @staticmethod
    def _host():
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)

    def cores(self, wall):
        """{"bench_client_cpu_cores", "host_cpu_busy_cores"} since the probe was made."""
        found = {"bench_client_cpu_cores": round((self._client() - self.client0) / wall, 2)}
        host = self._host()
        if host is not None and self.host0 is not None and host[0] > self.host0[0]:
            busy = 1 - (host[1] - self.host0[1]) / (host[0] - self.host0[0])
            found["host_cpu_busy_cores"] = round(busy * (os.cpu_count() or 1), 2)
        return found


def start_server(workdir, max_environments, extra_env):
    if SCALE_OUT:
        server = ScaleOutSite(Path(workdir), max_environments, extra_env).start()
        server.manage("sync_lessons")
        return server
    server = LiveServer(workdir, UID_BASE, max_environments)
    # A class behind one address (loopback here): every learner is a guest of its own.
    server.env["GUESTS_PER_ADDRESS_PER_HOUR"] = "100000"
    server.env.update(extra_env)
    server.start()
    server.manage("sync_lessons")
    return server


def stop_server(server):
    server.stop()
    server.reap()


def server_pids(server):
    return server.pids() if SCALE_OUT else [server.process.pid]


SCALE_OUT = {}  # --scale-out: {"database_url", "redis_url"} of the PostgreSQL and Redis it started
SHARDS = 2


class ScaleOutSite:
    """daphne and one `runworker sandbox-<n>` per shard on PostgreSQL and Redis, as
    tests/test_scale_out.py starts them (deployment: docs/deployment.md)."""

    def __init__(self, workdir, max_environments, extra_env):
        self.python = sys.executable
        self.workdir = workdir
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=SCALE_OUT["database_url"],
            REDIS_URL=SCALE_OUT["redis_url"],
            SANDBOX_WORKER_SHARDS=str(SHARDS),
            SANDBOX_MAX_ENVIRONMENTS=str(max_environments),
            SANDBOX_SLOT_UID_BASE=str(UID_BASE),
            GUESTS_PER_ADDRESS_PER_HOUR="100000",
            LAYERS_ROOT=str(workdir / "layers"),
            INSTANCE="bench-classroom",
            PYTHONUNBUFFERED="1",
            **extra_env,
        )
        self.processes = []
        self.process = None
        self.url = None

    def manage(self, *args):
        import subprocess

        done = subprocess.run(
            [self.python, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        return done.stdout

    def _spawn(self, name, argv):
        import subprocess

        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self):
        import urllib.request

        from tests.services import free_port, wait_for

        self.manage("migrate", "--noinput", "-v", "0")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        serve = [self.python, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port)]
        self.process = self._spawn("daphne", [*serve, "config.asgi:application"])
        for shard in range(SHARDS):
            self._spawn(f"worker-{shard}", [self.python, "manage.py", "runworker", f"sandbox-{shard}"])
        healthz = f"{self.url}/healthz"
        wait_for(lambda: urllib.request.urlopen(healthz, timeout=1).status == 200, what="daphne")
        return self

    def pids(self):
        return [process.pid for process in self.processes]

    def stop(self):
        import signal
        import subprocess

        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def reap(self):
        pass


def server_counts(server, since_epoch):
    """Invocations the server stored since `since_epoch`, by trigger and status, and the
    throttles by reason (from the server's own database)."""
    script = f"""
import json
from collections import Counter
from datetime import datetime, UTC
from sandbox.models import Invocation
since = datetime.fromtimestamp({since_epoch}, UTC)
rows = Invocation.objects.filter(created__gte=since).values_list("trigger", "status", "error", "finished")
by = Counter(); reasons = Counter(); last = None
for trigger, status, error, finished in rows:
    by[f"{{trigger}}:{{status}}"] += 1
    if status == "throttled":
        reasons[f"{{trigger}}:{{(error or {{}}).get('Reason', '')}}"] += 1
    if finished and (last is None or finished > last):
        last = finished
print(json.dumps({{"by": by, "throttle_reasons": reasons,
                  "last_finished": last.timestamp() if last else None}}))
"""
    return json.loads(server.manage("shell", "-c", script).strip().splitlines()[-1])


# ------------------------------------------------------------------------------ one learner
class Learner:
    def __init__(self, number, url, rng, load_tester, submits_starter):
        self.number = number
        self.url = url
        self.rng = rng
        self.http = HttpClient(url)
        self.load_tester = load_tester
        self.submits_starter = submits_starter
        self.slug = self.load_slug = None
        self.version = 0
        self.invocations = []  # dicts: sent, first_log_ms, report_ms, status, cold, edited, error
        self.check = None
        self.load_test_started = False

    @property
    def csrf(self):
        return self.http.cookies.get("csrftoken", "")

    def _headers(self):
        return {"X-CSRFToken": self.csrf, "Referer": self.url + "/"}

    async def open_step(self):
        """The learner opens the lesson step and saves the draft playground's starter (the POST
        to /begin with action=save makes the guest learner and the step's function)."""
        base = f"/lessons/{LESSON}/{STEP}"
        await self.http.get(f"{base}/")
        draft = await self.http.get(f"{base}/playground")
        if draft.status != 200:
            raise RuntimeError(f"learner {self.number}: the draft playground answered {draft.status}")
        began = await self.http.post_form(
            f"{base}/begin",
            {
                "action": "save",
                "code": STARTER,
                "handler": "handler",
                "csrfmiddlewaretoken": self.csrf,
            },
            self._headers(),
        )
        if began.status != 302:
            raise RuntimeError(f"learner {self.number}: begin answered {began.status}")
        # The step asks for a prediction before the first Check: answered now, as a learner would.
        predicted = await self.http.post_form(
            f"{base}/predict", {"prediction": "1", "csrfmiddlewaretoken": self.csrf}, self._headers()
        )
        if predicted.status != 200:
            raise RuntimeError(f"learner {self.number}: predicting answered {predicted.status}")
        page = await self.http.get(f"{base}/playground")
        found = SLUG.search(page.text) if page.status == 200 else None
        if not found:
            raise RuntimeError(f"learner {self.number}: the step's playground answered {page.status}")
        self.slug = found.group(1)
        if self.load_tester:
            created = await self.http.post_form(
                "/functions/new", {"name": f"load-{self.number}"}, self._headers()
            )
            location = created.header("location", "")
            match = re.search(r"/functions/([\w-]+)/", location)
            if created.status != 302 or not match:
                raise RuntimeError(f"learner {self.number}: creating a function answered {created.status}")
            self.load_slug = match.group(1)
            saved = await self.http.send_json(
                "PUT",
                f"/api/functions/{self.load_slug}",
                {"code": TRIVIAL.format(version=0)},
                self._headers(),
            )
            if saved.status != 200:
                raise RuntimeError(f"learner {self.number}: saving code answered {saved.status}")

    def _socket(self, slug):
        headers = {"Cookie": self.http.cookie_header(), "Origin": self.url}
        ws_url = self.url.replace("http://", "ws://") + f"/ws/functions/{slug}/"
        return websockets.connect(ws_url, additional_headers=headers, max_size=None, open_timeout=30)

    async def invoke_once(self, ws, edit):
        if edit:
            self.version += 1
        message = {
            "action": "invoke",
            "code": TRIVIAL.format(version=self.version),
            "handler": "handler",
            "memory_mb": "256",
            "timeout_s": "3",
            "environment": "",
            "event": "{}",
        }
        sent = time.monotonic()
        entry = {
            "sent": sent,
            "edited": edit,
            "first_log_ms": None,
            "report_ms": None,
            "status": None,
            "cold": None,
            "error": None,
        }
        self.invocations.append(entry)
        await ws.send(json.dumps(message))
        finished = False
        try:
            async with asyncio.timeout(INVOKE_TIMEOUT_S):
                while True:
                    frame = await ws.recv()
                    now = time.monotonic()
                    if frame.startswith(LOG_FRAME):
                        if entry["first_log_ms"] is None:
                            entry["first_log_ms"] = (now - sent) * 1000
                        if entry["report_ms"] is None and "REPORT RequestId" in frame:
                            entry["report_ms"] = (now - sent) * 1000
                    elif 'id="notice"' in frame and "notice-error" in frame:
                        entry["error"] = "notice: " + re.sub(r"<[^>]+>", "", frame).strip()[:200]
                        return
                    elif (panel := PANEL.search(frame)) is not None:
                        entry["status"] = panel.group(1)
                        entry["cold"] = "badge-cold" in frame
                        finished = True
                        if entry["status"] != "ok":
                            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", frame))
                            entry["error"] = text[:300]
                    elif finished and 'id="actions"' in frame and "disabled" not in frame:
                        return
        except TimeoutError:
            entry["error"] = entry["error"] or f"no result within {INVOKE_TIMEOUT_S} s"

    async def start_load_test(self, rate, seconds):
        response = await self.http.post_form(
            f"/functions/{self.load_slug}/scale/load",
            {
                "mode": "rate",
                "rate": rate,
                "seconds": seconds,
                "event": "{}",
                "csrfmiddlewaretoken": self.csrf,
            },
            self._headers(),
        )
        self.load_test_started = response.status == 302

    async def stop_load_test(self):
        if self.load_slug:
            await self.http.post_form(
                f"/functions/{self.load_slug}/scale/stop", {"csrfmiddlewaretoken": self.csrf}, self._headers()
            )

    async def press_check(self):
        code = STARTER if self.submits_starter else SOLUTION
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(
                self.http.post_form(
                    f"/lessons/{LESSON}/{STEP}/check",
                    {"code": code, "handler": "handler", "csrfmiddlewaretoken": self.csrf},
                    {**self._headers(), "HX-Request": "true"},
                ),
                CHECK_TIMEOUT_S,
            )
            text = response.text
            verdict = (
                "pass"
                if "check-pass" in text
                else "busy"
                if "check-busy" in text
                else "fail"
                if "check-fail" in text
                else f"http {response.status}"
            )
            message = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:400]
        except (TimeoutError, OSError) as exc:
            verdict, message = "no answer", repr(exc)
        expected = "fail" if self.submits_starter else "pass"
        self.check = {
            "verdict": verdict,
            "expected": expected,
            "seconds": time.monotonic() - started,
            "message": message,
        }

    async def run(self, start, plan):
        """Invoke every 1-2 s until the class's invoke phase ends, then press Check."""
        end = start + plan.seconds
        next_edit = self.rng.randint(3, 6)
        load_at = start + self.rng.uniform(2, max(3, plan.seconds / 4)) if self.load_tester else None
        async with self._socket(self.slug) as ws:
            await asyncio.sleep(self.rng.uniform(0, 2))
            count = 0
            while time.monotonic() < end:
                if load_at is not None and time.monotonic() >= load_at:
                    load_at = None
                    seconds = min(60, int(end - time.monotonic()) + plan.load_overlap)
                    await self.start_load_test(plan.load_rate, seconds)
                count += 1
                edit = count == 1 or count >= next_edit
                if edit and count > 1:
                    next_edit = count + self.rng.randint(3, 6)
                began = time.monotonic()
                await self.invoke_once(ws, edit)
                pause = self.rng.uniform(1, 2) - (time.monotonic() - began)
                if pause > 0:
                    await asyncio.sleep(min(pause, max(0, end - time.monotonic())))
            await asyncio.sleep(self.rng.uniform(0, 2))  # the class presses Check within 2 s
            await self.press_check()

    async def close(self):
        await self.http.close()


# ------------------------------------------------------------------------------ the class
class Plan:
    def __init__(self, args):
        self.learners = args.learners
        self.seconds = args.seconds
        self.load_rate = args.load_rate
        self.load_overlap = 15  # load tests run this long past the invoke phase (over Check)
        self.api_clients = args.api_clients
        self.api_seconds = args.api_seconds


async def baseline_learner(url, rng):
    """One learner alone on the server: the latency a class should come close to."""
    alone = Learner(-1, url, rng, load_tester=False, submits_starter=False)
    await alone.open_step()
    async with alone._socket(alone.slug) as ws:
        for n in range(12):
            await alone.invoke_once(ws, edit=n in (0, 6))
            await asyncio.sleep(0.3)
    await alone.close()
    return alone.invocations


async def run_class(url, plan, rng):
    learners = [
        Learner(n, url, random.Random(rng.random()), load_tester=n % 4 == 0, submits_starter=n % 8 == 7)
        for n in range(plan.learners)
    ]
    await asyncio.gather(*(learner.open_step() for learner in learners))
    start = time.monotonic()
    epoch = time.time()
    await asyncio.gather(*(learner.run(start, plan) for learner in learners))
    checks_done = time.monotonic()
    await asyncio.gather(*(learner.stop_load_test() for learner in learners))
    for learner in learners:
        await learner.close()
    return learners, start, epoch, checks_done


def summarise_class(learners, baseline, start, plan, cpu_seconds, peak_rss, counts, wall):
    invocations = [i for learner in learners for i in learner.invocations]
    in_phase = [i for i in invocations if i["sent"] - start <= plan.seconds]
    first = [i["first_log_ms"] for i in in_phase if i["first_log_ms"] is not None]
    report = [i["report_ms"] for i in in_phase if i["report_ms"] is not None]
    warm_report = [i["report_ms"] for i in in_phase if i["report_ms"] is not None and not i["cold"]]
    failures = [i for i in invocations if i["status"] != "ok"]
    checks = [learner.check for learner in learners if learner.check]
    wrong = [c for c in checks if c["verdict"] in ("pass", "fail") and c["verdict"] != c["expected"]]
    not_judged = [c for c in checks if c["verdict"] not in ("pass", "fail")]
    base_first = [i["first_log_ms"] for i in baseline if i["first_log_ms"] is not None]
    base_report = [i["report_ms"] for i in baseline if i["report_ms"] is not None]
    playground_rate = len(in_phase) / plan.seconds
    served = sum(counts["by"].values())
    figures = []

    def add(*args):
        figures.append(figure(*args))

    add(
        "first_log_p50",
        "ms",
        percentile(first, 50),
        "1 learner alone p50",
        percentile(base_first, 50),
        "-",
        True,
    )
    add(
        "first_log_p99",
        "ms",
        percentile(first, 99),
        "1 learner alone p99",
        percentile(base_first, 99),
        "-",
        True,
    )
    add(
        "report_p50",
        "ms",
        percentile(report, 50),
        "1 learner alone p50",
        percentile(base_report, 50),
        "-",
        True,
    )
    p99 = percentile(report, 99)
    add(
        "report_p99",
        "ms",
        p99,
        "1 learner alone p99",
        percentile(base_report, 99),
        "value <= 250 ms",
        p99 <= 250,
    )
    add(
        "report_warm_p99",
        "ms",
        percentile(warm_report, 99),
        "1 learner alone p99",
        percentile(base_report, 99),
        "-",
        True,
    )
    add(
        "platform_failures",
        "count",
        len(failures),
        "invocations",
        len(invocations),
        "value == 0",
        not failures,
    )
    add("wrong_verdicts", "count", len(wrong), "checks", len(checks), "value == 0", not wrong)
    add("checks_not_judged", "count", len(not_judged), "checks", len(checks), "-", True)
    add(
        "playground_invocations_per_s",
        "inv/s",
        playground_rate,
        "offered (learners / 1.5 s)",
        plan.learners / 1.5,
        "-",
        True,
    )
    add("server_invocations_per_s", "inv/s", served / wall, "playground only", playground_rate, "-", True)
    add("server_cpu", "cores", cpu_seconds / wall, "host cores", os.cpu_count(), "-", True)
    add("server_peak_rss", "MB", peak_rss, "-", 0, "-", True)
    details = {
        "learners": plan.learners,
        "invoke_phase_s": plan.seconds,
        "load_testers": sum(1 for learner in learners if learner.load_tester),
        "load_tests_started": sum(1 for learner in learners if learner.load_test_started),
        "load_rate_per_s": plan.load_rate,
        "playground_invocations": len(invocations),
        "cold_starts": sum(1 for i in invocations if i["cold"]),
        "edits": sum(1 for i in invocations if i["edited"]),
        "server_invocations": counts["by"],
        "throttle_reasons": counts["throttle_reasons"],
        "failures": [
            {"learner": learner.number, "status": i["status"], "error": i["error"]}
            for learner in learners
            for i in learner.invocations
            if i["status"] != "ok"
        ][:40],
        "checks": [{"learner": learner.number, **learner.check} for learner in learners if learner.check],
        "wall_s": round(wall, 2),
    }
    return figures, details


# ------------------------------------------------------------------------------ API only
API_SETUP = """
import json
from django.contrib.auth import get_user_model
from sandbox.models import ApiToken, Function
out = []
for n in range({count}):
    user = get_user_model().objects.create_user(username=f"api-{{n}}-{stamp}")
    fn = Function.objects.create(owner=user, name=f"api-{{n}}", code={code!r}, memory_mb=256)
    out.append([ApiToken.issue(user), fn.slug])
print(json.dumps(out))
"""


async def api_client(url, token, slug, until, samples, errors):
    http = HttpClient(url, timeout=INVOKE_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        first = True  # at least one request each, even with no time left (the warm-up)
        while first or time.monotonic() < until:
            first = False
            began = time.monotonic()
            try:
                response = await http.send_json(
                    "POST", f"/api/functions/{slug}/invocations", {"event": {}}, headers
                )
            except (TimeoutError, OSError) as exc:
                errors.append(repr(exc))
                continue
            body = response.json() if response.status == 200 else {}
            if body.get("status") == "ok":
                samples.append((time.monotonic(), (time.monotonic() - began) * 1000, body.get("cold")))
            else:
                errors.append(f"{response.status}: {response.text[:200]}")
    finally:
        await http.close()


async def api_load(url, clients, seconds):
    samples, errors = [], []
    start = time.monotonic()
    await asyncio.gather(*(api_client(url, t, s, start + seconds, samples, errors) for t, s in clients))
    return samples, errors, time.monotonic() - start


def run_api(workdir, plan, max_environments, extra_env, profile_dir=None):
    server = start_server(workdir, max_environments, extra_env)
    try:
        script = API_SETUP.format(
            count=plan.api_clients, code=TRIVIAL.format(version=0), stamp=int(time.time() * 1000)
        )
        clients = json.loads(server.manage("shell", "-c", script).strip().splitlines()[-1])
        probe = ServerProbe(server_pids(server))
        # Every function's first (cold) invocation out of the way: the run measures warm ones.
        asyncio.run(api_load(server.url, clients, 0))
        log("API: 1 client alone ...")
        one_samples, one_errors, one_wall = asyncio.run(
            api_load(server.url, clients[:1], min(10, plan.api_seconds))
        )
        log(f"API: {len(clients)} clients for {plan.api_seconds} s ...")
        cpu0 = probe.cpu_seconds()
        host = HostProbe()
        profiler = Profiler(profile_dir, "api", server.process.pid)
        try:
            samples, errors, wall = asyncio.run(api_load(server.url, clients, plan.api_seconds))
        finally:
            profiler.stop()
        cpu = probe.cpu_seconds() - cpu0
        beside = host.cores(wall)
        peak = probe.peak_rss_mb()
    finally:
        stop_server(server)
    rate = len(samples) / wall
    one_rate = len(one_samples) / one_wall
    latencies = [ms for _, ms, _ in samples]
    figures = [
        figure(
            "api_invocations_per_s", "inv/s", rate, "1 client alone", one_rate, "value >= 200", rate >= 200
        ),
        figure(
            "api_latency_p50",
            "ms",
            percentile(latencies, 50),
            "1 client alone p50",
            percentile([ms for _, ms, _ in one_samples], 50),
            "-",
            True,
        ),
        figure(
            "api_latency_p99",
            "ms",
            percentile(latencies, 99),
            "1 client alone p99",
            percentile([ms for _, ms, _ in one_samples], 99),
            "-",
            True,
        ),
        figure(
            "api_failures",
            "count",
            len(errors),
            "requests",
            len(samples) + len(errors),
            "value == 0",
            not errors,
        ),
        figure("api_server_cpu", "cores", cpu / wall, "host cores", os.cpu_count(), "-", True),
        figure("api_server_peak_rss", "MB", peak, "-", 0, "-", True),
    ]
    details = {
        "cold_starts_measured": sum(1 for *_, cold in samples if cold),
        "clients": len(clients),
        "seconds": round(wall, 2),
        "errors": errors[:20],
        "one_client_errors": one_errors[:5],
        **beside,
    }
    return figures, details


# ------------------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=40, help="length of the invoke phase")
    parser.add_argument("--load-rate", type=int, default=5, help="requests/s of each load test")
    parser.add_argument("--api-clients", type=int, default=40)
    parser.add_argument("--api-seconds", type=int, default=20)
    parser.add_argument("--only", choices=["class", "api"], help="run one part")
    parser.add_argument(
        "--max-environments", type=int, help="SANDBOX_MAX_ENVIRONMENTS (default: the product's)"
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile the server with py-spy while each part runs (collapsed stacks in DIR)",
    )
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help=f"PostgreSQL + Redis + daphne + {SHARDS} runworker processes instead of the embedded default",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.scale_out:
        with contextlib.ExitStack() as stack:
            from tests.services import RedisServer, postgres_cluster

            SCALE_OUT["database_url"] = stack.enter_context(postgres_cluster())
            redis = RedisServer(Path(stack.enter_context(tempfile.TemporaryDirectory()))).start()
            stack.callback(redis.stop)
            SCALE_OUT["redis_url"] = redis.url
            return _run(args)
    return _run(args)


def _run(args):
    plan = Plan(args)
    from config.settings import SANDBOX

    max_environments = args.max_environments or SANDBOX["MAX_ENVIRONMENTS"]
    extra_env = {}
    if args.max_environments:
        extra_env["ACCOUNT_CONCURRENCY"] = str(args.max_environments)
    busy = host_busy_percent()
    rng = random.Random(args.seed)
    results = {"figures": [], "class": None, "api": None}
    if args.only in (None, "class"):
        with tempfile.TemporaryDirectory() as workdir:
            server = start_server(workdir, max_environments, extra_env)
            try:
                probe = ServerProbe(server_pids(server))
                log("1 learner alone (baseline) ...")
                baseline = asyncio.run(baseline_learner(server.url, rng))
                log(f"{plan.learners} learners for {plan.seconds} s, then Check ...")
                cpu0 = probe.cpu_seconds()
                host = HostProbe()
                profiler = Profiler(args.py_spy, "class", server.process.pid)
                try:
                    learners, start, epoch, checks_done = asyncio.run(run_class(server.url, plan, rng))
                finally:
                    profiler.stop()
                wall = time.monotonic() - start
                cpu = probe.cpu_seconds() - cpu0
                beside = host.cores(wall)
                peak = probe.peak_rss_mb()
                counts = server_counts(server, epoch)
            finally:
                stop_server(server)
        figures, details = summarise_class(learners, baseline, start, plan, cpu, peak, counts, wall)
        details["checks_finished_after_s"] = round(checks_done - start, 2)
        details.update(beside)
        results["figures"] += figures
        results["class"] = details
    if args.only in (None, "api"):
        with tempfile.TemporaryDirectory() as workdir:
            figures, details = run_api(workdir, plan, max_environments, extra_env, args.py_spy)
        results["figures"] += figures
        results["api"] = details
    machine = machine_info(detect(), busy)
    machine["max_environments"] = max_environments
    machine["mode"] = f"PostgreSQL + Redis + daphne + {SHARDS} workers" if SCALE_OUT else "embedded (SQLite)"
    results["machine"] = machine
    figures = results["figures"]
    results["figures"] = [{k: finite(v) for k, v in f.__dict__.items()} for f in figures]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(figures))
    if results["class"]:
        cls = results["class"]
        print(
            f"\nplayground invocations {cls['playground_invocations']} (cold {cls['cold_starts']}), "
            f"server {cls['server_invocations']}"
        )
        print(f"throttles by reason: {cls['throttle_reasons']}")
        for check in cls["checks"]:
            if check["verdict"] != check["expected"]:
                print(
                    f"check of learner {check['learner']}: {check['verdict']} "
                    f"(expected {check['expected']}): {check['message'][:200]}"
                )
        for failure in cls["failures"][:10]:
            print(f"failure: {failure}")
    if results["api"]:
        api = results["api"]
        print(
            f"API: {api['clients']} clients, cold starts while measured {api['cold_starts_measured']}, "
            f"errors {api['errors'][:3]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
