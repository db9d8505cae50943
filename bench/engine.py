"""Benchmark of the execution engine against baselines measured in the same run.

Run with `make bench` (or `.venv/bin/python bench/engine.py`, as root for full isolation).
Prints a table and writes bench/results/engine.json:

    {"machine": {...}, "figures": [{"name", "unit", "value", "baseline_name", "baseline",
                                    "ratio", "goal", "met"}, ...]}

Every figure is compared with a baseline measured on the same machine in the same run, so the
ratio says what the sandbox costs, whatever the hardware. bench/README.md explains each figure.
The engine is built the way tests/conftest.py builds it: no Django app, only the limits table
of config/settings.py.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/engine.py` puts bench/, not the project, first

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from django.conf import settings  # noqa: E402

from sandbox.engine import cgroups, uidlease  # noqa: E402
from sandbox.engine.core import Engine  # noqa: E402
from sandbox.engine.invocation import FunctionRunner  # noqa: E402
from sandbox.engine.isolation import detect  # noqa: E402
from sandbox.engine.launcher_client import Launcher  # noqa: E402
from sandbox.engine.outcomes import FunctionSpec, Limits  # noqa: E402
from sandbox.engine.rules.billing import Prices  # noqa: E402
from sandbox.engine.slots import SlotPool  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "engine.json"
SLOT_COUNT = 8
# Slot uids 62000+ keep the bench apart from a dev server (60000+); --uid-base (or
# BENCH_SLOT_UID_BASE) moves it when a concurrent test run uses the same range.
SLOT_UID_BASE = int(os.environ.get("BENCH_SLOT_UID_BASE") or 62000)
ONE_VCPU_MB = 1769  # Lambda gives one full vCPU at 1 769 MB; the engine copies the rule

# The handler of every figure: trivial unless the event asks it to sleep.
HANDLER_SOURCE = """\
import time


def handler(event, context):
    ms = event.get("sleep_ms") if isinstance(event, dict) else None
    if ms:
        time.sleep(ms / 1000)
    return event
"""

# The baseline child of the warm figures: a plain interpreter echoing lines on a pipe.
ECHO_SOURCE = """\
import sys
r, w = sys.stdin.buffer, sys.stdout.buffer
while True:
    line = r.readline()
    if not line:
        break
    w.write(line)
    w.flush()
"""
ECHO_LINE = b'{"id": "00000000-0000-0000-0000-000000000000", "event": {}}\n'


@dataclass
class Plan:
    """How many samples each figure takes (sized so the whole run stays well under 2 minutes)."""

    cold: int = 50
    cold_rate: int = 48
    warm: int = 2000
    warm_baseline: int = 5000
    throughput_each: int = 600
    throughput_baseline_each: int = 4000
    sleeps: tuple = ((10, 20), (100, 20), (1000, 5))  # (sleep ms, repetitions)


QUICK = Plan(cold=10, cold_rate=16, warm=300, warm_baseline=1000, throughput_each=150,
             throughput_baseline_each=1000, sleeps=((10, 5), (100, 5), (1000, 2)))


@dataclass
class Figure:
    name: str
    unit: str
    value: float
    baseline_name: str
    baseline: float
    ratio: float
    goal: str
    met: bool


# ------------------------------------------------------------------------------- helpers
def percentile(samples, p):
    """The p-th percentile (0-100), linear interpolation between closest ranks."""
    data = sorted(samples)
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def build_engine(uid_base=SLOT_UID_BASE, spawn="launcher", spares=None):
    """An engine as tests/conftest.py builds one: no Django settings involved. `spares` other
    than None gives it a private launcher of its own keeping that many environments ready."""
    isolation = detect(require=os.environ.get("SANDBOX_REQUIRE") or None, spawn=spawn)
    if spares is not None and isolation.launcher is not None:
        own = Launcher.start_private(isolation.python, spares=spares)
        own.hello()
        isolation = dataclasses.replace(isolation, launcher=own)
    if isolation.switch_uid:  # leased, as a worker's: the launcher runs only a worker's own uids
        uid_base = uidlease.lease(uid_base, SLOT_COUNT)
    return Engine(isolation, Limits.from_table(settings.SANDBOX), SlotPool(SLOT_COUNT, uid_base), Prices())


async def wait_for_spares(engine, timeout=10.0):
    """Until the launcher has all its spares ready again (they are made between requests), so
    a cold start is measured as a request finds it, and making spares does not slow the
    baseline measured next. The sustained rate (cold_starts_per_s_8) includes that work."""
    launcher = engine.isolation.launcher
    if launcher is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = launcher.hello()
        if info.get("spares", 0) >= info.get("spares_wanted", 0):
            return
        await asyncio.sleep(0.002)


def bench_spec(name="bench", memory_mb=ONE_VCPU_MB, timeout_s=5.0):
    return FunctionSpec(
        name=name,
        handler="handler.handler",
        files={"handler.py": HANDLER_SOURCE},
        memory_mb=memory_mb,
        timeout_s=timeout_s,
    )


def host_busy_percent(seconds=0.5):
    """How busy the CPUs are before we start (other work on the host skews every figure)."""

    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    spent = total1 - total0
    return round(100 * (1 - (idle1 - idle0) / spent), 1) if spent else None


def machine_info(isolation, busy_percent=None):
    info = {
        "cpu_model": _cpuinfo_field("model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "memory_mb": _meminfo_mb("MemTotal"),
        "kernel": platform.release(),
        "os": _os_release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "isolation_level": isolation.level,
        "isolation": isolation.describe(),
        "spawn": isolation.spawn,
        "host_shared": "yes: other work runs on this host; compare ratios, not absolute figures",
        "load_average_after_run_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
        "cgroup_version": isolation.cgroup_version,
        "bwrap": _bwrap_version(isolation.bwrap),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host_cpu_busy_percent_before_run": busy_percent,
        "load_average_after_run": [round(x, 2) for x in os.getloadavg()],
    }
    return info


def _cpuinfo_field(name):
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def _meminfo_mb(name):
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _os_release():
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _bwrap_version(path):
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def start_echo_child():
    """A plain `python -I -S` child that echoes lines: the cheapest possible warm round trip."""
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", ECHO_SOURCE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
    )


def stop_echo_child(child):
    child.stdin.close()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    child.stdout.close()


def echo_round_trip(child, line=ECHO_LINE):
    os.write(child.stdin.fileno(), line)
    out_fd = child.stdout.fileno()
    data = os.read(out_fd, 65536)
    while not data.endswith(b"\n"):
        data += os.read(out_fd, 65536)
    return data


# ------------------------------------------------------------------------------- figures
async def cold_start(engine, plan, spec, workdir, log):
    """Fresh environment + first trivial invoke, vs `python -I -S` importing the same handler:
    at 1 769 MB (one vCPU, p50 and p99) and at 128 MB (p50)."""
    (workdir / "handler.py").write_text(HANDLER_SOURCE)
    code = f"import sys; sys.path.insert(0, {str(workdir)!r}); import handler"
    baseline_argv = [sys.executable, "-I", "-S", "-c", code]
    subprocess.run(baseline_argv, check=True)  # warm the page cache for both sides
    small = dataclasses.replace(spec, memory_mb=128)
    for warm_up in (spec, small):
        runner = FunctionRunner(engine, warm_up)
        await runner.invoke({})
        runner.close()

    cold, cold_small, base = [], [], []
    for i in range(plan.cold):  # interleaved, so drift on the host hits both sides alike
        for measured, samples in ((spec, cold), (small, cold_small)):
            if measured is small and i % 2:
                continue  # half as many at 128 MB: a p50 only
            await wait_for_spares(engine)
            runner = FunctionRunner(engine, measured)
            try:
                started = time.perf_counter()
                record = await runner.invoke({})
                samples.append((time.perf_counter() - started) * 1000)
            finally:
                runner.close()
            if record.status != "ok" or not record.cold:
                raise RuntimeError(f"cold start failed: {record.status} {record.error}")
        await wait_for_spares(engine)
        started = time.perf_counter()
        subprocess.run(baseline_argv, check=True)
        base.append((time.perf_counter() - started) * 1000)
    log(f"  cold start: {plan.cold} samples at {spec.memory_mb} MB, {len(cold_small)} at 128 MB")
    goal = "ratio <= 1.0 (moonshot: <= 0.5)"
    out = []
    for name, samples, p in (("cold_start_p50", cold, 50), ("cold_start_p99", cold, 99),
                             ("cold_start_128mb_p50", cold_small, 50)):
        value, ref = percentile(samples, p), percentile(base, p)
        ratio = value / ref
        out.append(
            Figure(name, "ms", value, f"python -I -S import handler p{p}", ref, ratio, goal, ratio <= 1.0)
        )
    return out


async def cold_start_rate(engine, baseline_engine, plan, spec, log, concurrency=8):
    """Cold starts per second the host sustains: environments requested back to back, 8 at a
    time (each started, invoked once, destroyed), vs the same through bubblewrap."""

    async def rate(eng):
        remaining = [plan.cold_rate]

        async def driver():
            while remaining[0] > 0:
                remaining[0] -= 1
                runner = FunctionRunner(eng, spec)
                try:
                    record = await runner.invoke({})
                finally:
                    runner.close()
                if record.status != "ok":
                    raise RuntimeError(f"cold start failed: {record.status} {record.error}")

        started = time.perf_counter()
        await asyncio.gather(*(driver() for _ in range(concurrency)))
        return plan.cold_rate / (time.perf_counter() - started)

    ours, theirs = [], []
    for _ in range(2):  # alternated, so drift hits both alike
        ours.append(await rate(engine))
        theirs.append(await rate(baseline_engine))
    value, base = statistics.mean(ours), statistics.mean(theirs)
    log(f"  cold starts/s: 2 x {plan.cold_rate} each way, {concurrency} at a time")
    return [
        Figure(f"cold_starts_per_s_{concurrency}", "starts/s", value,
               f"the same through bubblewrap (SANDBOX_SPAWN=bwrap), {concurrency} at a time", base,
               value / base, "ratio >= 1 (more than today's spawn path)", value >= base)
    ]


async def warm_invoke(engine, plan, spec, log, rounds=40):
    """Invoke one warm environment repeatedly, vs a line echoed by a plain child on a pipe. The
    two are interleaved in `rounds` blocks, so load from elsewhere on a shared host hits both
    alike (measured one after the other, a burst of load lands on one side only)."""
    runner = FunctionRunner(engine, spec)
    child = start_echo_child()
    try:
        for _ in range(50):
            await runner.invoke({})
        for _ in range(200):
            echo_round_trip(child)
        samples, base = [], []
        for _ in range(rounds):
            for _ in range(plan.warm // rounds):
                started = time.perf_counter()
                record = await runner.invoke({})
                samples.append((time.perf_counter() - started) * 1e6)
                if record.status != "ok" or record.cold:
                    raise RuntimeError(f"warm invoke failed: {record.status} {record.error}")
            for _ in range(plan.warm_baseline // rounds):
                started = time.perf_counter()
                echo_round_trip(child)
                base.append((time.perf_counter() - started) * 1e6)
    finally:
        runner.close()
        stop_echo_child(child)
    log(f"  warm invoke: {len(samples)} samples, baseline {len(base)}, interleaved in {rounds} blocks")
    out = []
    for p in (50, 99):
        value, ref = percentile(samples, p), percentile(base, p)
        ratio = value / ref
        out.append(
            Figure(f"warm_invoke_p{p}", "us", value, f"raw pipe echo round trip p{p}", ref, ratio,
                   "ratio <= 10", ratio <= 10)
        )
    return out


async def warm_throughput(engine, plan, spec, log, concurrency=4):
    """Invocations per second with 4 warm environments driven concurrently by asyncio."""
    runners = [FunctionRunner(engine, spec) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(r.invoke({}) for r in runners))  # the cold starts, untimed

        async def drive(runner, count):
            for _ in range(count):
                record = await runner.invoke({})
                if record.status != "ok":
                    raise RuntimeError(f"invoke failed: {record.status} {record.error}")

        await asyncio.gather(*(drive(r, 20) for r in runners))
        started = time.perf_counter()
        await asyncio.gather(*(drive(r, plan.throughput_each) for r in runners))
        value = concurrency * plan.throughput_each / (time.perf_counter() - started)
    finally:
        for runner in runners:
            runner.close()

    base = await echo_throughput(concurrency, plan.throughput_baseline_each)
    log(f"  throughput: {concurrency} x {plan.throughput_each} invokes, "
        f"baseline {concurrency} x {plan.throughput_baseline_each}")
    return [
        Figure(f"warm_invokes_per_s_{concurrency}env", "invokes/s", value,
               f"raw pipe echo round trips/s, {concurrency} children (asyncio)", base,
               value / base, "value >= 5000 /s", value >= 5000)
    ]


async def echo_throughput(concurrency, each):
    """Round trips per second to `concurrency` echo children, each driven in sequence by the
    same asyncio loop the engine uses (add_reader on the pipe, one future per line)."""
    loop = asyncio.get_running_loop()
    children = [start_echo_child() for _ in range(concurrency)]

    async def drive(child, count):
        out_fd, in_fd = child.stdout.fileno(), child.stdin.fileno()
        os.set_blocking(out_fd, False)
        state = {"buf": b"", "waiter": None}

        def readable():
            state["buf"] += os.read(out_fd, 65536)
            if state["buf"].endswith(b"\n") and state["waiter"] and not state["waiter"].done():
                state["buf"] = b""
                state["waiter"].set_result(None)

        loop.add_reader(out_fd, readable)
        try:
            for _ in range(count):
                state["waiter"] = loop.create_future()
                os.write(in_fd, ECHO_LINE)
                await state["waiter"]
        finally:
            loop.remove_reader(out_fd)

    try:
        await asyncio.gather(*(drive(c, 100) for c in children))
        started = time.perf_counter()
        await asyncio.gather(*(drive(c, each) for c in children))
        return concurrency * each / (time.perf_counter() - started)
    finally:
        for child in children:
            stop_echo_child(child)


async def duration_fidelity(engine, plan, spec, log):
    """|reported Duration - requested sleep|, vs the same sleep timed in-process."""
    out = []
    runner = FunctionRunner(engine, spec)
    try:
        await runner.invoke({})
        for sleep_ms, reps in plan.sleeps:
            errors, base = [], []
            for _ in range(reps):
                record = await runner.invoke({"sleep_ms": sleep_ms})
                if record.status != "ok":
                    raise RuntimeError(f"sleep invoke failed: {record.status} {record.error}")
                errors.append(abs(record.duration_ms - sleep_ms))
                started = time.monotonic()
                time.sleep(sleep_ms / 1000)
                base.append(abs((time.monotonic() - started) * 1000 - sleep_ms))
            value, ref = percentile(errors, 95), percentile(base, 95)
            out.append(
                Figure(f"duration_error_p95_{sleep_ms}ms", "ms", value,
                       f"in-process time.sleep |error| p95 ({reps} runs)", ref,
                       value / max(ref, 0.001), "value <= 1 ms", value <= 1.0)
            )
            log(f"  duration fidelity: {reps} x {sleep_ms} ms")
    finally:
        runner.close()
    return out


# ------------------------------------------------------------------------------- output
def format_value(value, unit):
    if unit == "invokes/s":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"


def table(figures):
    rows = [("figure", "value", "unit", "baseline", "ratio", "goal", "met")]
    for f in figures:
        rows.append((f.name, format_value(f.value, f.unit), f.unit,
                     format_value(f.baseline, f.unit), f"{f.ratio:.2f}x", f.goal,
                     "yes" if f.met else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 3, 4}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                       strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def leftovers(engine):
    """What the run may have left behind: slots, processes, cgroups. Only what is ours is
    counted: on a shared host a test run may use the same slot uids at the same time."""
    problems = []
    if engine.slots.in_use:
        problems.append(f"{engine.slots.in_use} slot(s) still in use")
    ours = f"/{cgroups.GROUP_DIR}/w{os.getpid()}-"
    uids = {str(engine.slots.uid(n)) for n in range(engine.slots.size)}
    children = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            children.update((task / "children").read_text().split())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            in_our_cgroup = ours in Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
        of_bench_uid = uid_line.split()[1:2] and uid_line.split()[1] in uids
        if entry in children or (of_bench_uid and in_our_cgroup):
            problems.append(f"process {entry} started by the bench is still alive")
    if engine.isolation.cgroup_version:
        bases = (
            [cgroups.ROOT / c for c in cgroups.V1_CONTROLLERS]
            if engine.isolation.cgroup_version == 1
            else [cgroups.ROOT]
        )
        for base in bases:
            for d in base.rglob(f"{cgroups.GROUP_DIR}/w{os.getpid()}-*"):
                problems.append(f"cgroup {d} was left behind")
    return problems


async def run(plan, log, uid_base):
    engine = build_engine(uid_base)
    engines = [engine]
    log(f"isolation: {engine.isolation.describe()}")
    spec = bench_spec()
    figures = []
    with tempfile.TemporaryDirectory(prefix="coldstart-bench-") as tmp:
        figures += await cold_start(engine, plan, spec, Path(tmp), log)
    if engine.isolation.launcher is not None and shutil.which("bwrap"):
        bwrap = build_engine(uid_base + SLOT_COUNT, spawn="bwrap")
        engines.append(bwrap)
        figures += await cold_start_rate(engine, bwrap, plan, spec, log)
    figures += await warm_invoke(engine, plan, spec, log)
    figures += await warm_throughput(engine, plan, spec, log)
    figures += await duration_fidelity(engine, plan, spec, log)
    return engines, figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke run (~15 s)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument("--uid-base", type=int, default=SLOT_UID_BASE,
                        help=f"first slot uid (default {SLOT_UID_BASE}, env BENCH_SLOT_UID_BASE); "
                        "keep it apart from any test run or server on the host")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("note: not root, so no cgroups and no per-slot uids: figures are not the real ones",
              file=sys.stderr)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    started = time.monotonic()
    busy = host_busy_percent()
    if busy is not None and busy > 15:
        log(f"warning: the host is already {busy:.0f}% busy; figures will be noisy")
    engines, figures = asyncio.run(run(QUICK if args.quick else Plan(), log, args.uid_base))
    engine = engines[0]
    if engine.isolation.launcher is not None:
        engine.isolation.launcher.close()  # our private launcher: a child, not a leftover
    problems = [p for e in engines for p in leftovers(e)]
    result = {
        "machine": machine_info(engine.isolation, busy),
        "figures": [_rounded(asdict(f)) for f in figures],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(args.output.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.output)

    m = result["machine"]
    print(f"\n{m['cpu_model']}, {m['cores']} cores, {m['memory_mb']} MB, kernel {m['kernel']}, "
          f"{m['python']}, {m['isolation']}")
    print(table(figures))
    met = sum(f.met for f in figures)
    print(f"\n{met}/{len(figures)} goals met; {time.monotonic() - started:.1f} s; "
          f"written to {_shown(args.output)}")
    for problem in problems:
        print(f"LEFTOVER: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _rounded(figure):
    for key in ("value", "baseline", "ratio"):
        figure[key] = round(figure[key], 4)
    return figure


def _shown(path):
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


if __name__ == "__main__":
    sys.exit(main())
