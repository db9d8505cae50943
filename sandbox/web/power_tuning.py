"""Power tuning's arithmetic, as the AWS Lambda Power Tuning tool does it. Pure: no database.

For each memory size: the trimmed mean (the fastest and slowest 20 % left out, as the tool's
default `discardTopBottom`) of the invocations' Duration, and of their Billed Duration, from which
the cost of one invocation follows: memory GB x billed seconds x the GB-second price, plus the
request price. The cheapest configuration is the lowest cost (ties: the faster), the fastest the
lowest duration (ties: the cheaper), among the sizes whose every invocation succeeded.
"""

from sandbox.engine.rules.billing import cost_usd, gb_seconds

DISCARD_TOP_BOTTOM = 0.2
RAN = ("ok", "error", "timeout", "oom", "crashed")


def trimmed_mean(values, discard=DISCARD_TOP_BOTTOM):
    """The mean without the lowest and highest `discard` share (whole values, rounded down);
    None for no values."""
    if not values:
        return None
    cut = int(len(values) * discard)
    kept = sorted(values)[cut : len(values) - cut]
    return sum(kept) / len(kept)


def cost_per_invocation(memory_mb, billed_ms, prices):
    """What one invocation of `billed_ms` at `memory_mb` costs, request charge included."""
    return cost_usd(gb_seconds(memory_mb, billed_ms), 1, prices)


def summarise_size(memory_mb, samples, prices):
    """One memory size's result from its invocations' records (status, duration_ms,
    billed_duration_ms, init_duration_ms, error; throttled ones included, they are retried)."""
    ran = [s for s in samples if s["status"] in RAN]
    failed = next((s for s in ran if s["status"] != "ok"), None)
    failed = failed or next((s for s in samples if s["status"] == "failed"), None)
    billed = trimmed_mean([s["billed_duration_ms"] for s in ran])
    inits = [s["init_duration_ms"] for s in ran if s.get("init_duration_ms")]
    result = {
        "memory_mb": memory_mb,
        "invocations": len(ran),
        "throttles": sum(1 for s in samples if s["status"] == "throttled"),
        "duration_ms": _round(trimmed_mean([s["duration_ms"] for s in ran])),
        "billed_duration_ms": _round(billed),
        "init_duration_ms": _round(inits[0]) if inits else None,
        "cost_usd": None if billed is None else cost_per_invocation(memory_mb, billed, prices),
        "error": None,
    }
    if failed is not None:
        error = failed.get("error") or {}
        result["error"] = {
            "status": failed["status"],
            "type": error.get("errorType", failed["status"]),
            "message": str(error.get("errorMessage", ""))[:300],
        }
    return result


def _round(value):
    return None if value is None else round(value, 2)


def eligible(results):
    """The sizes that can be chosen: measured, and without an error."""
    return [r for r in results if r["invocations"] and r["error"] is None and r["cost_usd"] is not None]


def cheapest(results):
    """The memory size with the lowest cost per invocation (ties: the faster); None for none."""
    candidates = eligible(results)
    best = min(candidates, key=lambda r: (r["cost_usd"], r["duration_ms"]), default=None)
    return best["memory_mb"] if best else None


def fastest(results):
    """The memory size with the lowest duration (ties: the cheaper); None for none."""
    candidates = eligible(results)
    best = min(candidates, key=lambda r: (r["duration_ms"], r["cost_usd"]), default=None)
    return best["memory_mb"] if best else None
