"""Lambda's platform log lines, built by the parent from what it measured (docs/architecture.md §3)."""

from datetime import UTC, datetime


def start_line(request_id, version="$LATEST"):
    """`Version:` is the version that ran: $LATEST, or the number an alias routed to."""
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id):
    return f"END RequestId: {request_id}"


def report_line(request_id, duration_ms, billed_ms, memory_mb, max_used_mb, init_duration_ms=None):
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    return "\t".join(fields)


def iso_now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def timeout_line(request_id, timeout_s, when=None):
    return f"{when or iso_now()} {request_id} Task timed out after {timeout_s:.2f} seconds"


def runtime_exit_line(request_id, reason):
    return f"RequestId: {request_id} Error: Runtime exited with error: {reason}"


# Go's wording of Linux signals (Lambda's runtime API is written in Go).
SIGNAL_NAMES = {
    1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction", 5: "trace/breakpoint trap",
    6: "aborted", 7: "bus error", 8: "floating point exception", 9: "killed",
    10: "user defined signal 1", 11: "segmentation fault", 12: "user defined signal 2",
    13: "broken pipe", 14: "alarm clock", 15: "terminated", 16: "stack fault", 17: "child exited",
    18: "continued", 19: "stopped (signal)", 20: "stopped", 21: "stopped (tty input)",
    22: "stopped (tty output)", 23: "urgent I/O condition", 24: "CPU time limit exceeded",
    25: "file size limit exceeded", 26: "virtual timer expired", 27: "profiling timer expired",
    28: "window changed", 29: "I/O possible", 30: "power failure", 31: "bad system call",
}  # fmt: skip


def exit_reason(returncode=None, signal_number=None):
    """Go-style wording, as Lambda's runtime API reports it: 'signal: killed', 'exit status 1'."""
    if signal_number is not None:
        return f"signal: {SIGNAL_NAMES.get(signal_number, f'signal {signal_number}')}"
    return f"exit status {returncode}"
