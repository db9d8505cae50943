"""Where the time of a cold start and of a warm invoke goes (run as root, ~1 minute).

    .venv/bin/python bench/profile.py

Not part of `make bench`: it explains the figures of bench/engine.py. sandbox/ is not modified:
engine methods are wrapped at run time. The host is shared: read the figures as proportions of
one run, not as absolute times.

  1. the worker's timeline of a cold start and of a warm invoke (launcher);
  2. where the worker's CPU goes on the warm path (cProfile, top functions);
  3. what-ifs: warm p50, 4-environment throughput and worker CPU per invoke with the freeze
     after idle (as now) against a freeze and a thaw around every invoke (as before);
  4. cold start p50 for each way of starting an environment: the launcher with a spare ready,
     the launcher without spares, bubblewrap; against `python -I -S` importing the handler.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python bench/profile.py` puts bench/ first on the path, where this file would shadow the
# standard library's `profile` (which cProfile imports): the project instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p).resolve() != ROOT / "bench")]

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import inspect  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.engine import HANDLER_SOURCE, bench_spec, build_engine, wait_for_spares  # noqa: E402
from sandbox.engine import launcher_client  # noqa: E402
from sandbox.engine.environment import ExecutionEnvironment  # noqa: E402
from sandbox.engine.framing import MessageFramer  # noqa: E402
from sandbox.engine.invocation import FunctionRunner  # noqa: E402

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


def _before(owner, attr, name):
    original = getattr(owner, attr)

    def wrapper(*args, **kwargs):
        mark(name)
        return original(*args, **kwargs)

    setattr(owner, attr, wrapper)
    return owner, attr, original


@contextlib.contextmanager
def instrumented():
    Cgroup = launcher_client.DelegatedCgroup  # noqa: N806
    patches = [
        _after(launcher_client.Launcher, "create", "launcher: cgroup, pipes, spare assigned, reply"),
        _after(ExecutionEnvironment, "_wire", "event-loop wiring of the pipes"),
        _before(MessageFramer, "feed", "MESSAGE"),
        _after(ExecutionEnvironment, "_wait_message", "asyncio wake-up of the waiting task"),
        _after(Cgroup, "set_cpu_quota", "post-init CPU quota sent (not waited for)"),
        _after(Cgroup, "reset_peak", "START line + reset peak memory"),
        _after(ExecutionEnvironment, "_thaw", "thaw (only if it was frozen)"),
        _after(Cgroup, "peak_memory_bytes", "drain output + read peak memory"),
    ]
    try:
        yield
    finally:
        for owner, attr, original in reversed(patches):
            setattr(owner, attr, original)


def segments(run_marks):
    """(label, ms) between consecutive marks; a MESSAGE mark is named by what preceded it."""
    out = []
    for (before_name, before), (name, at) in zip(run_marks, run_marks[1:], strict=False):
        if name == "MESSAGE":
            name = ("runtime: assignment, drop, seccomp, init message, handler import -> init_done"
                    if before_name.startswith("event-loop") else
                    "round trip: write event -> runtime runs handler -> result readable")
        out.append((name, (at - before) * 1000))
    return out


def summarise(title, runs, unit="ms"):
    shapes = {tuple(name for name, _ in r) for r in runs}
    shape = max(shapes, key=lambda s: sum(tuple(n for n, _ in r) == s for r in runs))
    runs = [r for r in runs if tuple(n for n, _ in r) == shape]
    scale = 1000 if unit == "us" else 1
    print(f"\n{title} (median of {len(runs)} runs, {unit})")
    for i, name in enumerate(shape):
        print(f"  {statistics.median(r[i][1] for r in runs) * scale:9.3f}  {name}")
    print(f"  {statistics.median(sum(ms for _, ms in r) for r in runs) * scale:9.3f}  TOTAL")


async def timelines(engine, n_cold=25, n_warm=500):
    spec = bench_spec()
    cold, warm, destroy_ms = [], [], []
    with instrumented():
        for _ in range(n_cold):
            await wait_for_spares(engine)
            runner = FunctionRunner(engine, spec)
            marks.clear()
            mark("start")
            await runner.invoke({})
            mark("record built: END/REPORT lines, billing")
            cold.append(segments(marks))
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
                    warm.append(segments(marks))
        finally:
            runner.close()
    summarise("COLD START, the worker's timeline (a spare ready)", cold)
    print(f"  (not in the figure) destroy, waiting for the launcher: {statistics.median(destroy_ms):.2f} ms")
    summarise("WARM INVOKE, the worker's timeline", warm, unit="us")


async def warm_cpu_profile(engine, n=2000):
    runner = FunctionRunner(engine, bench_spec())
    try:
        for _ in range(100):
            await runner.invoke({})
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            await runner.invoke({})
        profile.disable()
    finally:
        runner.close()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(14)
    print(f"\nWARM INVOKE, the worker's CPU by function (cProfile, {n} invokes; 'poll' is waiting)")
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    print("\n".join("  " + line for line in lines[start:] if line.strip()))


async def what_if(engine, n_warm=1000, each=400):
    print(f"\nWHAT IF (warm p50 over {n_warm} invokes; 4 environments x {each} invokes)")
    saved = ExecutionEnvironment._freeze

    def freeze_at_once(self):  # as before: frozen right after every invocation
        if self.cgroup:
            self._freeze_now()

    spec = bench_spec()
    for label, patch in (("freeze after 20 ms idle (as now)", None),
                         ("freeze after every invoke, thaw before the next (as before)", freeze_at_once)):
        ExecutionEnvironment._freeze = patch or saved
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
            ExecutionEnvironment._freeze = saved
        print(f"  warm p50 {statistics.median(times):7.1f} us   {rate:6.0f} invokes/s   "
              f"worker CPU {cpu_us:5.0f} us/invoke   {label}")


async def cold_ways(engines, n=20):
    """Cold start p50 of each way to start an environment, interleaved with the baseline."""
    spec = bench_spec()
    with tempfile.TemporaryDirectory(prefix="coldstart-profile-") as tmp:
        (Path(tmp) / "handler.py").write_text(HANDLER_SOURCE)
        python = next(iter(engines.values()))[0].isolation.python
        baseline = [python, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {tmp!r}); import handler"]
        times = {label: [] for label in [*engines, "python -I -S, import handler"]}
        for _ in range(n + 1):
            for label, (engine, wait) in engines.items():
                if wait:
                    await wait_for_spares(engine)
                runner = FunctionRunner(engine, spec)
                try:
                    started = time.perf_counter()
                    record = await runner.invoke({})
                    times[label].append((time.perf_counter() - started) * 1000)
                finally:
                    runner.close()
                assert record.status == "ok", record.error
            started = time.perf_counter()
            subprocess.run(baseline, check=True)
            times["python -I -S, import handler"].append((time.perf_counter() - started) * 1000)
    print(f"\nCOLD START, environment requested -> first invoke returned (median of {n}, ms)")
    for label, values in times.items():
        print(f"  {statistics.median(values[1:]):7.2f}  {label}")


async def main():
    engine = build_engine()
    print(engine.isolation.describe())
    if engine.isolation.launcher is None:
        sys.exit("this profile describes the launcher path: run it as root")
    try:
        await timelines(engine)
        await warm_cpu_profile(engine)
        await what_if(engine)
        base = engine.slots.uid_base + engine.slots.size
        no_spares = build_engine(base, spares=0)
        bwrap = build_engine(base + engine.slots.size, spawn="bwrap")
        try:
            await cold_ways({
                "launcher, a spare ready": (engine, True),
                "launcher without spares (--spares 0: forks on request)": (no_spares, False),
                "bubblewrap (SANDBOX_SPAWN=bwrap)": (bwrap, False),
            })
        finally:
            no_spares.isolation.launcher.close()
    finally:
        assert engine.slots.in_use == 0
        engine.isolation.launcher.close()


if __name__ == "__main__":
    asyncio.run(main())
