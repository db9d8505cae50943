"""Running handlers through the real engine in tests: no mocks of the sandbox."""

import asyncio
import os
import textwrap
from pathlib import Path

from sandbox.engine.invocation import FunctionRunner
from sandbox.engine.outcomes import FunctionSpec

HOSTILE_DIR = Path(__file__).parent / "hostile" / "programs"

# The keys of one invocation's JSON (`manage.py invoke --json` and the API), written out here
# rather than read from the product so that a changed key fails the tests.
RECORD_KEYS = {
    "request_id", "status", "cold", "init_duration_ms", "duration_ms", "billed_duration_ms",
    "memory_size_mb", "max_memory_used_mb", "gb_seconds", "cost_usd", "result", "error",
    "executed_version", "logs",
}  # fmt: skip


def spec_for(
    source,
    *,
    name="fn",
    handler="handler",
    memory_mb=128,
    timeout_s=3.0,
    environment=None,
    version="$LATEST",
    logging=None,
    opt_dir=None,
):
    return FunctionSpec(
        name=name,
        handler=f"lambda_function.{handler}",
        files={"lambda_function.py": textwrap.dedent(source)},
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        environment=environment or {},
        version=version,
        logging=logging or {},
        opt_dir=opt_dir,
    )


async def invoke_many(engine, spec, events, on_log=None):
    runner = FunctionRunner(engine, spec)
    try:
        return [await runner.invoke(event, on_log=on_log) for event in events]
    finally:
        runner.close()


def run(engine, source, events=({},), **spec_options):
    """Invoke `source` once per event in one runner (cold, then warm); returns the records."""
    return asyncio.run(invoke_many(engine, spec_for(source, **spec_options), list(events)))


def hostile_source(name):
    return (HOSTILE_DIR / name).read_text()


def processes_of_uids(uids):
    """Pids of live processes owned by any of `uids` (sandbox slot users)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) in uids:
                            found.append(int(entry))
                        break
        except OSError:
            continue
    return found


def remove_cgroup_group(group):
    """Sweep a test instance's environment cgroups (their workers are gone) and remove its
    group directories, so test runs leave no directory behind in the cgroup hierarchy."""
    from sandbox.engine import cgroups

    version = cgroups.detect_version(group)
    if version is None:
        return
    cgroups.sweep_stale(group)
    bases = cgroups._v1_bases(group).values() if version == 1 else [cgroups._v2_base(group)]
    for base in bases:
        try:
            base.rmdir()
        except OSError:
            pass  # still in use (a concurrent run of the same test) or already gone
