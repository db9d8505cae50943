"""Power-tuning runs on the web side: starting one (checked and bounded), stopping it, and its
report from the invocations it ran (sandbox/web/power_tuning.py does the arithmetic)."""

import re
from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.models import PowerTuning
from sandbox.web.fields import ConfigError, int_field
from sandbox.web.power_tuning import cheapest, fastest, summarise_size
from sandbox.worker import validate_event
from sandbox.worker.config import prices_from_settings

STALE_SLACK_S = 30  # beyond the longest an invocation can last (timeout + init)
SAMPLE_FIELDS = ("memory_size_mb", "status", "duration_ms", "billed_duration_ms", "init_duration_ms", "error")


def size_choices():
    """The sizes the page offers: the tool's usual sweep, within this server's memory range."""
    low, high = settings.SANDBOX["MEMORY_MB_MIN"], settings.SANDBOX["MEMORY_MB_MAX"]
    return [size for size in PowerTuning.DEFAULT_SIZES if low <= size <= high]


def clean_sizes(raw):
    """Memory sizes from checkbox values, numbers or "128, 512 1024" text: sorted, distinct, each
    within the function limits, at most PowerTuning.MAX_SIZES of them."""
    low, high = settings.SANDBOX["MEMORY_MB_MIN"], settings.SANDBOX["MEMORY_MB_MAX"]
    tokens = []
    for item in raw if isinstance(raw, list | tuple) else [raw]:
        tokens += [t for t in re.split(r"[\s,]+", str(item if item is not None else "")) if t]
        if len(tokens) > 4 * PowerTuning.MAX_SIZES:
            break
    sizes = set()
    for token in tokens[: 4 * PowerTuning.MAX_SIZES]:
        if not token.isdigit() or not low <= int(token) <= high:
            raise ConfigError(
                "memory_sizes", f"Memory sizes are whole MB from {low} to {high}; got {token[:20]!r}."
            )
        sizes.add(int(token))
    if not sizes:
        raise ConfigError("memory_sizes", "Choose at least one memory size.")
    if len(sizes) > PowerTuning.MAX_SIZES:
        raise ConfigError("memory_sizes", f"At most {PowerTuning.MAX_SIZES} memory sizes in one run.")
    return sorted(sizes)


def fail_stale_runs(function):
    """Runs whose worker went away (a restart, a crash) end instead of blocking the next one: a
    running run starts an invocation at least once per invocation's longest possible life."""
    now = timezone.now()
    bound = now - timedelta(seconds=function.timeout_s + settings.SANDBOX["INIT_TIMEOUT_S"] + STALE_SLACK_S)
    for run in function.power_tunings.filter(status=PowerTuning.RUNNING, started__lt=bound):
        last = run.invocations.aggregate(last=Max("created"))["last"] or run.started
        if last < bound:
            status = PowerTuning.STOPPED if run.stop_requested else PowerTuning.FAILED
            PowerTuning.objects.filter(pk=run.pk, status=PowerTuning.RUNNING).update(
                status=status,
                finished=now,
                failure_reason="The sandbox worker running this tuning stopped before it finished.",
            )


def create_run(function, sizes, per_size, event):
    """A new running PowerTuning for `function`, or ConfigError naming what is wrong. The worker
    is told to start it by the caller (sandbox.worker.start_power_tuning)."""
    fail_stale_runs(function)
    if function.reserved_concurrency == 0:
        raise ConfigError("function", "The function's reserved concurrency is 0: it is disabled.")
    if function.power_tunings.filter(status=PowerTuning.RUNNING).exists():
        raise ConfigError("power_tuning", "A tuning run is already running for this function; stop it first.")
    sizes = clean_sizes(sizes)
    per_size = int_field({"n": per_size}, "n", 1, PowerTuning.MAX_PER_SIZE, "Invocations per size")
    if len(sizes) * per_size > PowerTuning.MAX_TOTAL:
        raise ConfigError(
            "invocations_per_size",
            f"{len(sizes)} sizes × {per_size} invocations is {len(sizes) * per_size}; "
            f"at most {PowerTuning.MAX_TOTAL} invocations in one run.",
        )
    try:
        event_json = validate_event(event if event not in (None, "") else "{}")
    except (InvalidEvent, PayloadTooLarge) as exc:
        raise ConfigError("event", f"Event: {exc}") from None
    return PowerTuning.objects.create(
        function=function, memory_sizes=sizes, invocations_per_size=per_size, event=event_json
    )


def request_stop(function, run_id=None):
    """Ask the worker to stop the function's running run (or that one); how many were asked."""
    runs = function.power_tunings.filter(status=PowerTuning.RUNNING)
    if run_id is not None:
        runs = runs.filter(pk=run_id)
    return runs.update(stop_requested=True)


def run_report(run):
    """The run's state and, per memory size, what its invocations measured; the cheapest and the
    fastest size marked."""
    if run.status == PowerTuning.RUNNING:
        fail_stale_runs(run.function)
        run.refresh_from_db()
    samples = {}
    for sample in run.invocations.values(*SAMPLE_FIELDS):
        samples.setdefault(sample["memory_size_mb"], []).append(sample)
    prices = prices_from_settings()
    results = [summarise_size(size, samples[size], prices) for size in run.memory_sizes if size in samples]
    return {
        "id": run.pk,
        "status": run.status,
        "stop_requested": run.stop_requested,
        "memory_sizes": run.memory_sizes,
        "invocations_per_size": run.invocations_per_size,
        "event": run.event,
        "planned": run.planned,
        "done": run.done,
        "percent": run.percent,
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "failure_reason": run.failure_reason,
        "results": results,
        "cheapest": cheapest(results),
        "fastest": fastest(results),
    }
