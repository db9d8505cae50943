"""The pool's own overhead: invocations through FunctionPool vs calling warm environments
directly, at 1, 4 and 16 concurrent environments, measured in the same run.

    .venv/bin/python bench/pool.py          (part of `make bench`; writes bench/results/pool.json)
"""

import asyncio
import json
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from django.conf import settings  # noqa: E402

from bench.engine import (  # noqa: E402
    SLOT_UID_BASE,
    Figure,
    bench_spec,
    machine_info,
    percentile,
    table,
)
from sandbox.engine.core import Engine  # noqa: E402
from sandbox.engine.isolation import detect  # noqa: E402
from sandbox.engine.outcomes import Limits  # noqa: E402
from sandbox.engine.pool import Account, AccountLimits, FunctionPool  # noqa: E402
from sandbox.engine.rules.billing import Prices  # noqa: E402
from sandbox.engine.slots import SlotPool  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "pool.json"
EACH = 150  # sequential invocations per concurrent caller
LEVELS = (1, 4, 16)


async def direct(environments, each):
    """Each caller drives its own warm environment: no pool in between."""
    latencies = []

    async def caller(environment):
        for _ in range(each):
            started = time.perf_counter()
            await environment.invoke(str(uuid.uuid4()), "{}", lambda line: None)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller(e) for e in environments))
    return latencies, len(latencies) / (time.perf_counter() - started)


async def pooled(pool, callers, each):
    latencies = []

    async def caller():
        for _ in range(each):
            started = time.perf_counter()
            await pool.invoke("{}")
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return latencies, len(latencies) / (time.perf_counter() - started)


async def run(log):
    slots = SlotPool(2 * max(LEVELS) + 2, SLOT_UID_BASE + 100)
    engine = Engine(detect(), Limits.from_table(settings.SANDBOX), slots, Prices())
    spec = bench_spec("pool-bench")
    figures = []
    for level in LEVELS:
        account = Account(
            AccountLimits(
                concurrency=1000,
                scale_per_10s=1000,
                learner_concurrency=1000,
                learner_per_minute=10**9,
                idle_ttl_s=300,
            )
        )
        pool = FunctionPool(engine, spec, account)
        await asyncio.gather(*(pool.invoke("{}") for _ in range(level)))  # warm `level` environments
        environments = [engine.new_environment(spec) for _ in range(level)]
        for environment in environments:
            await environment.start(lambda line: None)
        log(f"{level} concurrent: direct ...")
        direct_lat, direct_rate = await direct(environments, EACH)
        log(f"{level} concurrent: pool ...")
        pool_lat, pool_rate = await pooled(pool, level, EACH)
        for environment in environments:
            environment.destroy()
        pool.close()
        direct_p99 = percentile(direct_lat, 99) * 1e6
        added_p99 = percentile(pool_lat, 99) * 1e6 - direct_p99
        figures.append(
            Figure(
                f"pool_invokes_per_s_{level}env",
                "invokes/s",
                pool_rate,
                "direct_invokes_per_s",
                direct_rate,
                pool_rate / direct_rate,
                "ratio >= 0.8",
                pool_rate / direct_rate >= 0.8,
            )
        )
        figures.append(
            Figure(
                f"pool_added_p99_{level}env",
                "us",
                added_p99,
                "direct_p99",
                percentile(direct_lat, 99) * 1e6,
                percentile(pool_lat, 99) / percentile(direct_lat, 99),
                "added p99 <= 10% of direct",
                added_p99 <= 0.1 * percentile(direct_lat, 99) * 1e6,
            )
        )
    return engine, figures


def main():
    def log(message):
        print(message, file=sys.stderr, flush=True)

    engine, figures = asyncio.run(run(log))
    result = {"machine": machine_info(engine.isolation), "figures": [asdict(f) for f in figures]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
