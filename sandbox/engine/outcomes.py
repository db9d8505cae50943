"""The engine's value types: what an environment runs, the limits it runs under, and what the
init phase and an invocation come out as."""

import os
from dataclasses import dataclass, field


@dataclass
class FunctionSpec:
    """What an environment runs: code, handler and configuration of one function."""

    name: str
    handler: str  # "module.function"
    files: dict  # {"module.py": source}
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: dict = field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    key: object = None  # the saved function's id, for permission checks of service calls
    version: str = "$LATEST"  # "$LATEST" (editable) or a published version's number, "1", "2"…
    logging: dict = field(default_factory=dict)  # log_format, application/system_log_level
    # The host directory mounted read-only at /opt: the function's layers, merged in order
    # (sandbox/layers/store.py). None without layers.
    opt_dir: str | None = None

    @property
    def arn(self):
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    def qualified_arn(self, qualifier=None):
        """The ARN a caller invokes: unqualified, or with a version number or alias name."""
        return f"{self.arn}:{qualifier}" if qualifier else self.arn


@dataclass
class Limits:
    """The sandbox limits. Their defaults are written once, in settings.SANDBOX, which
    documents each one; `from_table` reads that table (the engine itself imports no settings)."""

    payload_bytes: int
    init_timeout_s: float
    output_cap_bytes: int
    max_line_bytes: int
    pids_max: int
    nofile: int
    tmp_bytes: int
    mb_per_vcpu: int
    cpu_period_us: int
    service_call_bytes: int
    service_reply_bytes: int
    service_calls: int
    host_cores: int = os.cpu_count() or 1

    @classmethod
    def from_table(cls, table):
        return cls(
            payload_bytes=table["PAYLOAD_BYTES"],
            init_timeout_s=table["INIT_TIMEOUT_S"],
            output_cap_bytes=table["OUTPUT_CAP_BYTES"],
            max_line_bytes=table["MAX_LINE_BYTES"],
            pids_max=table["PIDS_MAX"],
            nofile=table["NOFILE"],
            tmp_bytes=table["TMP_MB"] << 20,
            mb_per_vcpu=table["MB_PER_VCPU"],
            cpu_period_us=table["CPU_PERIOD_US"],
            service_call_bytes=table["SERVICE_CALL_BYTES"],
            service_reply_bytes=table["SERVICE_REPLY_BYTES"],
            service_calls=table["SERVICE_CALLS_PER_INVOCATION"],
        )


@dataclass
class InitOutcome:
    ok: bool
    init_duration_ms: float
    status: str = "ok"  # ok, error, timeout, oom, crashed
    error: dict | None = None
    after_lines: list = field(default_factory=list)


@dataclass
class InvokeOutcome:
    status: str  # ok, error, timeout, oom, crashed
    duration_ms: float
    max_memory_used_mb: int
    payload: str | None = None  # the result as JSON text
    result: object = None  # the same, parsed (the parent checked it is JSON)
    error: dict | None = None
    after_report: list = field(default_factory=list)  # lines Lambda prints after REPORT
