"""The JSON API's typed bodies and answers: they are validated on the way in and documented in
the OpenAPI schema (/api/openapi.json). Ranges are checked by sandbox/web/forms.py, whose
messages name the field and the value, and are read from the limits in config/settings.py."""

from typing import Any, Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import ConfigDict

_S = settings.SANDBOX


class FunctionIn(Schema):
    """The fields a function is made of; PUT changes only the fields it names."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="Required when creating; at most 64 characters.")
    code: str | None = Field(None, description="Python source; a default greeter when creating.")
    handler: str | None = Field(None, description="The handler function's name (default `handler`).")
    memory_mb: int | None = Field(
        None, description=f"Memory size, {_S['MEMORY_MB_MIN']} to {_S['MEMORY_MB_MAX']} MB (default 128)."
    )
    timeout_s: int | None = Field(
        None, description=f"Timeout, {_S['TIMEOUT_S_MIN']} to {_S['TIMEOUT_S_MAX']} s (default 3)."
    )
    environment: dict[str, Any] | str | None = Field(
        None, description="Environment variables: an object of strings, or KEY=value lines."
    )
    reserved_concurrency: int | None = Field(
        None, description="A cap on concurrent executions; 0 disables the function, null removes the cap."
    )
    provisioned_concurrency: int | None = Field(
        None,
        description="Not here: provisioned concurrency is set on a version or alias "
        "(PUT /api/functions/{slug}/aliases/{name}); a value gets 400.",
    )
    logging: dict[str, str] | None = Field(
        None,
        description='{"log_format": "Text"|"JSON", "application_log_level": "TRACE".."FATAL", '
        '"system_log_level": "DEBUG"|"INFO"|"WARN"}',
    )
    layers: list[str] | None = Field(
        None,
        description=f"Layer version ARNs, in order (later layers on top in /opt); at most "
        f"{settings.LAYERS['PER_FUNCTION']}. Yours or public ones (GET /api/layers). [] removes them.",
    )


class FunctionCreated(Schema):
    slug: str
    url: str = Field(description="The function's page.")
    invoke_url: str = Field(description="POST an event here to invoke it.")


class FunctionOut(Schema):
    slug: str
    name: str
    code: str
    handler: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]
    logging: dict[str, str]
    reserved_concurrency: int | None
    layers: list[str] = Field(description="Layer version ARNs, in the order they are laid into /opt.")
    url: str
    invoke_url: str


class FunctionList(Schema):
    functions: list[FunctionOut]


class InvokeIn(Schema):
    """An invocation request. `event` is any JSON value (a string stays a string)."""

    model_config = ConfigDict(extra="forbid")

    event: Any = Field(default_factory=dict, description=f"The event, at most {_S['PAYLOAD_BYTES']} bytes.")
    invocation_type: Literal["RequestResponse", "Event"] = Field(
        "RequestResponse",
        description="RequestResponse waits for the result; Event queues it (202) with two retries.",
    )


class InvocationRecord(Schema):
    """One invocation, as `manage.py invoke --json` prints it."""

    request_id: str
    status: Literal["queued", "running", "ok", "error", "timeout", "oom", "crashed", "throttled", "failed"]
    cold: bool
    init_duration_ms: float | None = Field(description="Only on a cold start.")
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    gb_seconds: float
    cost_usd: float
    result: Any = Field(description="The handler's return value, when it returned.")
    error: dict[str, Any] | None = Field(
        description="Lambda's error shape: errorMessage, errorType, requestId, stackTrace."
    )
    logs: list[str] = Field(description="START, the handler's lines, END and REPORT.")
    executed_version: str = Field(description='The version that ran: "$LATEST" or what a qualifier chose.')


class InvocationQueued(Schema):
    request_id: str


class InvocationList(Schema):
    invocations: list[InvocationRecord]


class ErrorDetail(Schema):
    code: str = Field(description="e.g. InvalidRequest, Unauthorized, NotFound, TooManyRequestsException.")
    message: str
    reason: str | None = Field(
        None, description="Why a 429 throttled the call, or why a layer zip was refused (e.g. Symlink)."
    )


class ErrorOut(Schema):
    error: ErrorDetail


def errors(*statuses):
    """The error answers of an operation, for its `response=` map."""
    return dict.fromkeys(statuses, ErrorOut)


class CountPoint(Schema):
    t: int
    value: int


class DurationPoint(Schema):
    t: int
    avg: float | None
    p50: float | None
    p99: float | None
    max: float | None


class PeakPoint(Schema):
    t: int
    max: int


class MetricSeries(Schema):
    Invocations: list[CountPoint] = Field(
        description="Invocations that ran (errors included), in the period they were invoked in."
    )
    Errors: list[CountPoint] = Field(description="Function errors: error, timeout, out of memory, crash.")
    Throttles: list[CountPoint] = Field(description="Throttled requests (not invocations).")
    Duration: list[DurationPoint] = Field(description="Handler duration in ms: average, p50, p99, maximum.")
    ConcurrentExecutions: list[PeakPoint] = Field(description="The most in flight at once in the period.")
    ProvisionedConcurrencySpilloverInvocations: list[CountPoint] = Field(
        description="Invocations run on-demand while provisioned concurrency was configured."
    )


class Metrics(Schema):
    """The scaling picture (the Scaling page's data): times in ms from `origin`."""

    function: str
    origin: str = Field(description="ISO 8601 time of the first event shown.")
    load_test: dict[str, Any] | None = Field(
        description="id, status, mode, planned, sent, completed and percent of the load test."
    )
    lanes: list[Any] = Field(description="One per execution environment: its init and invoke segments.")
    throttles: list[Any] = Field(description="{at, reason} of each throttled call.")
    concurrency: list[Any] = Field(description="[ms, concurrent executions] steps.")
    counts: dict[str, Any] = Field(
        description="invocations, cold_starts, throttles, errors, environments, provisioned_invocations."
    )
    duration_ms: dict[str, Any] = Field(description="p50 and p99.")
    gb_seconds: float
    cost_usd: float
    provisioned_capacity_cost_usd: float
    concurrency_measured: dict[str, Any] = Field(description="peak and average.")
    concurrency_formula: dict[str, Any] = Field(
        description="requests_per_second × average_duration_s = concurrency."
    )
    period: int = Field(description="Seconds per point of `series`.")
    range: int = Field(description="Seconds of history `series` covers, up to now.")
    series: MetricSeries = Field(
        description="CloudWatch-style metrics, one point per period (`t`: its start, Unix seconds); "
        "an empty period is 0 (Duration: null)."
    )


class PowerTuningIn(Schema):
    """A power-tuning run: the function invoked N times in series at each memory size."""

    model_config = ConfigDict(extra="forbid")

    memory_sizes: list[int] | None = Field(
        None,
        description=f"Memory sizes in MB ({_S['MEMORY_MB_MIN']} to {_S['MEMORY_MB_MAX']}), at most 10; "
        "default 128, 256, 512, 1024, 1536 and 3008 (those this server allows).",
    )
    invocations_per_size: int = Field(10, description="N, 1 to 50; sizes × N at most 200.")
    event: Any = Field(default_factory=dict, description="The event every invocation gets.")


class PowerTuningSize(Schema):
    memory_mb: int
    invocations: int = Field(description="Invocations that ran at this size.")
    throttles: int = Field(description="Throttled attempts (each was retried).")
    duration_ms: float | None = Field(description="Trimmed mean Duration (fastest, slowest 20 % left out).")
    billed_duration_ms: float | None = Field(description="Trimmed mean Billed Duration.")
    init_duration_ms: float | None = Field(description="Init Duration of the size's cold start.")
    cost_usd: float | None = Field(description="Cost of one invocation: billed GB-seconds and the request.")
    error: dict[str, Any] | None = Field(
        description="status, type, message of the first failed invocation, which ended the size."
    )


class PowerTuningOut(Schema):
    id: int
    status: Literal["running", "finished", "stopped", "failed"]
    stop_requested: bool
    memory_sizes: list[int]
    invocations_per_size: int
    event: str
    planned: int
    done: int
    percent: int
    started: str
    finished: str | None
    failure_reason: str
    results: list[PowerTuningSize] = Field(description="One per memory size measured so far, by size.")
    cheapest: int | None = Field(description="The memory size with the lowest cost per invocation.")
    fastest: int | None = Field(description="The memory size with the lowest duration.")


class LayerVersionOut(Schema):
    """One immutable layer version."""

    name: str
    version: int
    arn: str = Field(description="The layer version ARN a function lists in `layers`.")
    layer_arn: str
    public: bool = Field(description="A bundled layer every learner can attach.")
    description: str
    code_sha256: str = Field(description="SHA-256 of the zip, hex.")
    code_size: int = Field(description="The zip's size in bytes.")
    unzipped_size: int
    file_count: int
    created: str


class LayerOut(Schema):
    name: str
    layer_arn: str
    public: bool
    latest: LayerVersionOut
    versions: list[LayerVersionOut] = Field(description="Oldest first.")


class LayerList(Schema):
    layers: list[LayerOut] = Field(description="Yours, then the public ones.")
