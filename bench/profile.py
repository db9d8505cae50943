"""Where the time of a cold start and of a warm invoke goes (run as root, ~1 minute).

    .venv/bin/python bench/profile.py

Not part of `make bench`: it explains the figures of bench/engine.py. The parent side is timed
by wrapping engine methods at run time (sandbox/ is not modified); the child side by starting
the same command lines one layer at a time.
"""

import asyncio
import contextlib
import copy
import inspect
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.engine import HANDLER_SOURCE, bench_spec, build_engine  # noqa: E402
from sandbox.engine import cgroups, environment  # noqa: E402
from sandbox.engine.environment import ExecutionEnvironment  # noqa: E402
from sandbox.engine.invocation import FunctionRunner  # noqa: E402
from sandbox.engine.isolation import RUNTIME_DIR, LaunchSpec, launch_spec  # noqa: E402

marks = []


def mark(name):
    marks.append((name, time.perf_counter()))


def _after(owner, attr, name):
    original = getattr(owner, attr)
    if inspect.iscoroutinefunction(original):

        async def wrapper(*args, **kwargs):
            result = await original(*args, **kwargs)
            mark(name)
            return result

    else:

        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            mark(name)
            return result

    setattr(owner, attr, wrapper)
    return owner, attr, original


class _TimedSubprocess:
    """Stands in for the `subprocess` module inside sandbox.environment: times Popen."""

    def __getattr__(self, name):
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args, **kwargs):  # noqa: N802 - the name the engine calls
        mark("prepare pipes, seccomp memfd, rlimits, argv")
        process = subprocess.Popen(*args, **kwargs)
        mark("Popen: fork (preexec_fn forbids vfork) + cgroup join + rlimits + exec bwrap")
        return process


@contextlib.contextmanager
def instrumented():
    patches = [
        _after(cgroups.Cgroup, "__init__", "slot + cgroup mkdir (4 v1 hierarchies)"),
        _after(cgroups.Cgroup, "configure", "cgroup configure (5-6 file writes)"),
        _after(ExecutionEnvironment, "_spawn", "event-loop wiring, pidfd, read oom_control"),
        _after(ExecutionEnvironment, "_feed_messages", "MESSAGE"),
        _after(ExecutionEnvironment, "_wait_message", "asyncio wake-up of the waiting task"),
        _after(cgroups.Cgroup, "set_cpu_quota", "cpu quota + burst (2 writes)"),
        _after(cgroups.Cgroup, "freeze", "freeze (freezer.state FROZEN)"),
        _after(cgroups.Cgroup, "reset_peak", "START line + reset peak memory"),
        _after(cgroups.Cgroup, "thaw", "thaw (freezer.state THAWED)"),
        _after(cgroups.Cgroup, "peak_memory_bytes", "drain output + read peak memory"),
    ]
    saved_subprocess = environment.subprocess
    environment.subprocess = _TimedSubprocess()
    try:
        yield
    finally:
        environment.subprocess = saved_subprocess
        for owner, attr, original in reversed(patches):
            setattr(owner, attr, original)


def segments(run_marks):
    """(label, ms) between consecutive marks; MESSAGE marks get a label from their position."""
    out = []
    messages = 0
    for (_, before), (name, at) in zip(run_marks, run_marks[1:], strict=False):
        if name == "MESSAGE":
            messages += 1
            name = (
                "child: bwrap + setpriv + python + runtime imports + handler import -> init_done"
                if messages == 1 and len(run_marks) > 14
                else "round trip: write event -> child runs handler -> result readable"
            )
        out.append((name, (at - before) * 1000))
    return out


def summarise(title, runs, unit="ms"):
    shapes = {tuple(name for name, _ in r) for r in runs}
    shape = max(shapes, key=lambda s: sum(tuple(n for n, _ in r) == s for r in runs))
    runs = [r for r in runs if tuple(n for n, _ in r) == shape]
    scale = 1000 if unit == "us" else 1
    totals = [sum(ms for _, ms in r) for r in runs]
    print(f"\n{title} (median of {len(runs)} runs, {unit})")
    for i, name in enumerate(shape):
        value = statistics.median(r[i][1] for r in runs) * scale
        print(f"  {value:9.3f}  {name}")
    print(f"  {statistics.median(totals) * scale:9.3f}  TOTAL")


async def parent_profiles(engine, n_cold=25, n_warm=500):
    spec = bench_spec()
    cold_runs, destroy_ms, warm_runs = [], [], []
    with instrumented():
        for _ in range(n_cold + 2):
            runner = FunctionRunner(engine, spec)
            marks.clear()
            mark("start")
            await runner.invoke({})
            mark("record built: END/REPORT lines, billing")
            cold_runs.append(segments(marks))
            started = time.perf_counter()
            runner.close()
            destroy_ms.append((time.perf_counter() - started) * 1000)
        runner = FunctionRunner(engine, spec)
        try:
            for i in range(n_warm + 50):
                marks.clear()
                mark("start")
                await runner.invoke({})
                mark("record built: END/REPORT lines, billing")
                if i >= 50:
                    warm_runs.append(segments(marks))
        finally:
            runner.close()
    summarise("COLD START, parent timeline", cold_runs[2:])
    print(f"  (not in the figure) destroy: median {statistics.median(destroy_ms):.2f} ms")
    summarise("WARM INVOKE, parent timeline", warm_runs, unit="us")


class _KeptFds:
    """What-if: the cgroup files of the hot path opened once per environment, not per call."""

    def __init__(self):
        self.fds = {}
        self.saved = None

    def fd(self, group, controller, name):
        key = (id(group), name)
        if key not in self.fds:
            self.fds[key] = os.open(group.dirs[controller] / name, os.O_RDWR)
        return self.fds[key]

    def install(self, skip_freezer=False):
        kept = self
        cls = cgroups.Cgroup
        self.saved = {n: getattr(cls, n) for n in
                      ("freeze", "thaw", "reset_peak", "peak_memory_bytes", "destroy")}

        def freeze(group):
            if not skip_freezer:
                os.write(kept.fd(group, "freezer", "freezer.state"), b"FROZEN")

        def thaw(group):
            if not skip_freezer:
                os.write(kept.fd(group, "freezer", "freezer.state"), b"THAWED")

        def reset_peak(group):
            os.pwrite(kept.fd(group, "memory", "memory.max_usage_in_bytes"), b"0", 0)

        def peak_memory_bytes(group):
            return int(os.pread(kept.fd(group, "memory", "memory.max_usage_in_bytes"), 32, 0))

        def destroy(group):
            try:
                return kept.saved["destroy"](group)  # its kill_all freezes and thaws too
            finally:
                for key in [k for k in kept.fds if k[0] == id(group)]:
                    os.close(kept.fds.pop(key))

        for name, fn in (("freeze", freeze), ("thaw", thaw), ("reset_peak", reset_peak),
                         ("peak_memory_bytes", peak_memory_bytes), ("destroy", destroy)):
            setattr(cls, name, fn)

    def uninstall(self):
        for name, fn in self.saved.items():
            setattr(cgroups.Cgroup, name, fn)


async def what_if(engine, n_warm=1000, each=400):
    """Warm invoke p50 and 4-environment throughput, as is and with two suggested changes."""
    if engine.isolation.cgroup_version != 1:
        return
    spec = bench_spec()
    print(f"\nWHAT IF (warm p50 over {n_warm} invokes; 4 environments x {each} invokes)")
    variants = [("as now", None), ("cgroup fds kept open", False),
                ("kept fds + no freeze/thaw between back-to-back invokes", True)]
    for label, skip_freezer in variants:
        kept = _KeptFds()
        if skip_freezer is not None:
            kept.install(skip_freezer)
        try:
            runner = FunctionRunner(engine, spec)
            try:
                for _ in range(50):
                    await runner.invoke({})
                times = []
                for _ in range(n_warm):
                    started = time.perf_counter()
                    await runner.invoke({})
                    times.append((time.perf_counter() - started) * 1e6)
            finally:
                runner.close()
            runners = [FunctionRunner(engine, spec) for _ in range(4)]
            try:
                await asyncio.gather(*(r.invoke({}) for r in runners))

                async def drive(runner, count):
                    for _ in range(count):
                        await runner.invoke({})

                started, cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(drive(r, each) for r in runners))
                rate = 4 * each / (time.perf_counter() - started)
                cpu_us = (time.process_time() - cpu) / (4 * each) * 1e6
            finally:
                for runner in runners:
                    runner.close()
        finally:
            if skip_freezer is not None:
                kept.uninstall()
        print(f"  warm p50 {statistics.median(times):7.1f} us   {rate:6.0f} invokes/s   "
              f"parent CPU {cpu_us:5.0f} us/invoke   {label}")


_DASH_ULIMIT = {  # resource -> (dash ulimit flag, unit in bytes)
    resource.RLIMIT_CORE: ("-c", 512),
    resource.RLIMIT_NOFILE: ("-n", 1),
    resource.RLIMIT_FSIZE: ("-f", 512),
    resource.RLIMIT_NPROC: ("-p", 1),
    resource.RLIMIT_AS: ("-v", 1024),
}


def _shell_launch_spec(original):
    """What-if: join the cgroups and set rlimits in `/bin/sh` before `exec bwrap`, so Popen
    needs no preexec_fn and can use vfork (the worker's memory is never copied)."""

    def launch(iso, *, env, uid, cgroup_paths, seccomp_fd, tmp_bytes, rlimits):
        spec = original(iso, env=env, uid=uid, cgroup_paths=cgroup_paths, seccomp_fd=seccomp_fd,
                        tmp_bytes=tmp_bytes, rlimits=rlimits)
        steps = [f"echo 0 > {shlex.quote(p)}" for p in cgroup_paths]
        for which, value in rlimits.items():
            flag, unit = _DASH_ULIMIT[which]
            steps.append(f"ulimit {flag} {value // unit}")
        steps.append('exec "$@"')
        argv = ["/bin/sh", "-c", "; ".join(steps), "sh", *spec.argv]
        return LaunchSpec(argv, spec.env, spec.pass_fds, None)

    return launch


async def cold_what_if(engine, n=25):
    """Cold start p50 as now and with Popen on the vfork path."""
    spec = bench_spec()
    print(f"\nWHAT IF, cold start (median of {n}, interleaved, ms)")
    variants = [("as now (preexec_fn: fork)", None),
                ("cgroup join + rlimits in /bin/sh, Popen without preexec_fn (vfork)",
                 _shell_launch_spec(environment.launch_spec))]
    times = {label: [] for label, _ in variants}
    saved = environment.launch_spec
    try:
        for _ in range(n + 1):
            for label, patch in variants:
                environment.launch_spec = patch or saved
                runner = FunctionRunner(engine, spec)
                try:
                    started = time.perf_counter()
                    record = await runner.invoke({})
                    times[label].append((time.perf_counter() - started) * 1000)
                finally:
                    runner.close()
                assert record.status == "ok", record.error
    finally:
        environment.launch_spec = saved
    for label, _ in variants:
        print(f"  {statistics.median(times[label][1:]):7.2f}  {label}")


STAMPING_HANDLER = """\
import time


def handler(event, context):
    started = time.monotonic()
    time.sleep(event["sleep_ms"] / 1000)
    return {"started": started, "ended": time.monotonic()}
"""


async def duration_breakdown(engine, reps=20):
    """Where the error of a reported Duration comes from (CLOCK_MONOTONIC is shared with the
    sandbox: bwrap does not unshare the time namespace)."""
    spec = bench_spec()
    spec.handler = "stamps.handler"
    spec.files = {"stamps.py": STAMPING_HANDLER}
    stamps = {}
    originals = (ExecutionEnvironment._feed_messages, ExecutionEnvironment._drain_output)

    def feed(self, data):
        stamps.setdefault("result readable in parent", time.monotonic())
        return originals[0](self, data)

    def drain(self):
        stamps.setdefault("duration taken", time.monotonic())
        return originals[1](self)

    ExecutionEnvironment._feed_messages, ExecutionEnvironment._drain_output = feed, drain
    runner = FunctionRunner(engine, spec)
    try:
        await runner.invoke({"sleep_ms": 0})
        env = runner.environment
        writer = env._writer

        class StampingWriter:
            def write(self, data):
                stamps["event written"] = time.monotonic()
                writer.write(data)

            def __getattr__(self, name):
                return getattr(writer, name)

        env._writer = StampingWriter()
        print(f"\nDURATION ERROR, one step at a time (median of {reps} invokes, ms)")
        for sleep_ms in (0, 10, 100):
            rows = []
            for _ in range(reps):
                stamps.clear()
                record = await runner.invoke({"sleep_ms": sleep_ms})
                r = record.result
                rows.append((
                    (r["started"] - stamps["event written"]) * 1000,
                    (r["ended"] - r["started"]) * 1000 - sleep_ms,
                    (stamps["result readable in parent"] - r["ended"]) * 1000,
                    (stamps["duration taken"] - stamps["result readable in parent"]) * 1000,
                    record.duration_ms - sleep_ms,
                ))
            cols = [statistics.median(c) for c in zip(*rows, strict=True)]
            print(f"  sleep {sleep_ms:4d} ms: event written -> handler starts {cols[0]:.3f}, "
                  f"sleep overshoot {cols[1]:.3f}, handler returns -> result readable {cols[2]:.3f}, "
                  f"readable -> duration taken {cols[3]:.3f}; reported error {cols[4]:.3f}")
    finally:
        ExecutionEnvironment._feed_messages, ExecutionEnvironment._drain_output = originals
        runner.close()


def median_ms(argv, n=15, before=None, **kwargs):
    times = []
    for _ in range(n):
        if before is not None:
            before()
        started = time.perf_counter()
        subprocess.run(argv, check=True, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def ladder(rows, n=15):
    """Median start time of each command line, run round-robin so host drift hits all alike."""
    times = {label: [] for label, *_ in rows}
    for _ in range(n):
        for label, argv, kwargs in rows:
            before = kwargs.pop("before", None)
            if before is not None:
                before()
            started = time.perf_counter()
            subprocess.run(argv, check=True, **kwargs)
            times[label].append((time.perf_counter() - started) * 1000)
            if before is not None:
                kwargs["before"] = before
    for label, *_ in rows:
        print(f"  {statistics.median(times[label]):7.2f}  {label}")


def child_ladder(engine):
    """The same start-up, one layer at a time."""
    iso = engine.isolation
    py = iso.python
    print("\nCHILD START, one layer at a time (median of 15 round-robin runs, ms)")
    tail = [py, "-I", "-S", "-c", "import os; os._exit(0)"]
    with tempfile.TemporaryDirectory(prefix="coldstart-profile-") as tmp:
        (Path(tmp) / "handler.py").write_text(HANDLER_SOURCE)
        runtime_copy = Path(tmp) / "runtime"
        runtime_copy.mkdir()
        for f in ("lambda_core.py", "bootstrap.py"):
            (runtime_copy / f).write_text((RUNTIME_DIR / f).read_text())
        subprocess.run([py, "-I", "-S", "-m", "compileall", "-q", str(runtime_copy)], check=True)
        # Every command ends in os._exit(0), so interpreter teardown is left out as in the
        # engine, whose child never exits between invocations.
        end = "; import os; os._exit(0)"
        rows = [
            ("python -I -S -c pass", tail, {}),
            ("python -I -S, import handler (the cold-start baseline)",
             [py, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {tmp!r}); import handler{end}"],
             {}),
            ("python -I -S, import json", [py, "-I", "-S", "-B", "-c", f"import io, json{end}"], {}),
            ("python -I -S, import json, logging, traceback, importlib (the runtime's imports)",
             [py, "-I", "-S", "-B", "-c", f"import io, json, logging, traceback, importlib{end}"],
             {}),
            ("python -I -S, import lambda_core compiled from source (the sandbox has no .pyc)",
             [py, "-I", "-S", "-B", "-c",
              f"import sys; sys.path.insert(0, {str(RUNTIME_DIR)!r}); import lambda_core{end}"], {}),
            ("python -I -S, import lambda_core from a precompiled .pyc",
             [py, "-I", "-S", "-B", "-c",
              f"import sys; sys.path.insert(0, {str(runtime_copy)!r}); import lambda_core{end}"], {}),
            ("python -c pass, Popen with a preexec_fn (fork instead of vfork)", tail,
             {"preexec_fn": _noop}),
        ]
        fds = []
        try:
            if iso.bwrap:
                plain = copy.copy(iso)
                plain.switch_uid = False
                rows.append(("bwrap (engine's argv) + python -c pass",
                             _sandboxed_argv(engine, plain, None, tail), {}))
                if iso.switch_uid:
                    rows.append(("bwrap + setpriv + python -c pass",
                                 _sandboxed_argv(engine, iso, None, tail), {}))
                if iso.seccomp_filter is not None:
                    fd = os.memfd_create("seccomp")
                    fds.append(fd)
                    os.write(fd, iso.seccomp_filter)
                    rows.append(("bwrap + setpriv + seccomp + python -c pass",
                                 _sandboxed_argv(engine, iso, fd, tail),
                                 # bwrap reads the filter at each start: rewind it every time
                                 {"pass_fds": (fd,), "before": lambda: os.lseek(fd, 0, os.SEEK_SET)}))
            ladder(rows)
        finally:
            for fd in fds:
                os.close(fd)


def _sandboxed_argv(engine, iso_variant, seccomp_fd, tail):
    spec = launch_spec(iso_variant, env={"A": "b"}, uid=engine.slots.uid(0), cgroup_paths=[],
                       seccomp_fd=seccomp_fd, tmp_bytes=512 << 20, rlimits={})
    cut = len(spec.argv) - spec.argv[::-1].index("--")  # up to the last "--": the sandbox part
    return spec.argv[:cut] + tail


def _noop():
    pass


def fork_cost():
    print("\nPOPEN OF /bin/true: vfork vs fork (preexec_fn), by parent size (median of 20, ms)")
    ballast = None
    for size_mb in (0, 100, 300):
        if size_mb:
            ballast = bytearray(size_mb << 20)
            for i in range(0, len(ballast), 4096):
                ballast[i] = 1
        rss = _rss_mb()
        fast = median_ms(["/bin/true"], n=20, start_new_session=True)
        slow = median_ms(["/bin/true"], n=20, start_new_session=True, preexec_fn=_noop)
        print(f"  parent RSS {rss:4d} MB: vfork {fast:6.2f}   fork+preexec_fn {slow:6.2f}")
        ballast = None
    del ballast


def _rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def cgroup_io(engine):
    if engine.isolation.cgroup_version != 1:
        return
    print("\nCGROUP V1 FILE I/O (median per call over 500 calls, us)")
    group = cgroups.Cgroup(f"w{os.getpid()}-profile", 1)
    child = subprocess.Popen([sys.executable, "-I", "-S", "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        group.configure(1769 << 20, 256, 20000, 20000)
        for c in ("freezer", "memory"):
            (group.dirs[c] / "cgroup.procs").write_text(str(child.pid))
        state = os.open(group.dirs["freezer"] / "freezer.state", os.O_WRONLY)
        peak = os.open(group.dirs["memory"] / "memory.max_usage_in_bytes", os.O_RDWR)
        try:
            rows = [
                ("freeze + thaw, open/write/close per call (as now)",
                 lambda: (group.freeze(), group.thaw())),
                ("freeze + thaw, fd kept open", lambda: (os.write(state, b"FROZEN"),
                                                         os.write(state, b"THAWED"))),
                ("reset peak, open/write/close (as now)", group.reset_peak),
                ("reset peak, fd kept open", lambda: os.pwrite(peak, b"0", 0)),
                ("read peak, open/read/close (as now)", group.peak_memory_bytes),
                ("read peak, fd kept open (pread)", lambda: int(os.pread(peak, 32, 0))),
            ]
            for label, fn in rows:
                times = []
                for _ in range(500):
                    started = time.perf_counter()
                    fn()
                    times.append((time.perf_counter() - started) * 1e6)
                print(f"  {statistics.median(times):8.1f}  {label}")
        finally:
            os.write(state, b"THAWED")
            os.close(state)
            os.close(peak)
    finally:
        child.kill()
        child.wait()
        group.destroy()
    # Joining the cgroups happens in the engine's preexec_fn, between fork and exec.
    noop, joined = [], []
    for i in range(15):
        fresh = cgroups.Cgroup(f"w{os.getpid()}-join{i}", 1)
        try:
            paths = fresh.join_paths
            started = time.perf_counter()
            subprocess.run(["/bin/true"], preexec_fn=_noop, check=True)
            noop.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            subprocess.run(["/bin/true"], preexec_fn=lambda p=paths: cgroups.join(p), check=True)
            joined.append((time.perf_counter() - started) * 1000)
        finally:
            fresh.destroy()
    print(f"  {statistics.median(noop) * 1000:8.1f}  Popen /bin/true, preexec_fn that does nothing")
    print(f"  {statistics.median(joined) * 1000:8.1f}  Popen /bin/true, preexec_fn joins 4 v1 cgroups "
          "(as the engine does)")


async def main():
    engine = build_engine()
    print(engine.isolation.describe())
    try:
        await parent_profiles(engine)
        await duration_breakdown(engine)
        await what_if(engine)
        await cold_what_if(engine)
    finally:
        assert engine.slots.in_use == 0
    child_ladder(engine)
    cgroup_io(engine)
    fork_cost()


if __name__ == "__main__":
    asyncio.run(main())
