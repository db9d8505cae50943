"""Entry point of a *browser* execution environment: the same runtime, inside Pyodide.

The server's child process runs bootstrap.py over two pipes; in the browser a Web Worker
(static/js/pyodide-worker.js) plays the child and the page plays the parent. The worker calls:

  init(init_json, emit)   -> JSON {"type": "init_done"} | {"type": "init_error", "error"}
  invoke(request_json)    -> JSON {"type": "result", "payload", "max_memory_used_bytes"}
                                | {"type": "error", "error", "max_memory_used_bytes"}
                                | {"type": "interrupted", "max_memory_used_bytes"}  (the page's
                                  timeout, through pyodide.setInterruptBuffer)

init_json and request_json are bootstrap.py's init and invoke messages. `emit(line)` receives the
handler's output one line at a time, as it is written. Handler loading, the context object, error
shapes and logging come from lambda_core, exactly as on the server. Memory is an estimate: the
tracemalloc peak of the invocation (the page labels it so); nothing here measures time.
"""

import io
import json
import os
import sys
import tracemalloc

from lambda_core import (
    TASK_ROOT,
    FaultError,
    LambdaContext,
    apply_environment,
    error_from_exception,
    install_task_files,
    invoke_handler,
    lambda_environment,
    load_handler,
    log_error,
    make_error,
    setup_logging,
)

_state = {"handler": None, "init": None, "out": None}


class LineWriter(io.TextIOBase):
    """A text stream that hands every complete line to `emit` as soon as it is written."""

    def __init__(self, emit):
        super().__init__()
        self._emit = emit
        self._partial = ""

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self._emit(line)
        return len(text)

    def flush(self):
        pass

    def drain(self):
        """Emit a trailing line without a newline (the server's line splitter does the same)."""
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit(line)


def write_task_files(files):
    """The function's code into /var/task of Pyodide's in-memory file system."""
    install_task_files(files, TASK_ROOT)


def init(init_json, emit):
    init_message = json.loads(init_json)
    sys.dont_write_bytecode = True
    out = LineWriter(emit)
    _state["out"] = out
    sys.stdout = sys.stderr = out
    os.environ.clear()
    write_task_files(init_message.get("files", {}))
    _state["init"] = init_message
    tracemalloc.start()  # before the import, so module-level data counts as used memory
    try:
        try:
            apply_environment(lambda_environment(init_message))
        finally:
            setup_logging()  # after the environment: AWS_LAMBDA_LOG_FORMAT picks text or JSON
        _state["handler"] = load_handler(init_message["handler"])
    except FaultError as fault:
        error = make_error(fault.message, fault.error_type, fault.trace)
        log_error(error)
        out.drain()
        return json.dumps({"type": "init_error", "error": error})
    except Exception as exc:  # module-level code raised
        error = error_from_exception(exc, skip_files=("lambda_core.py", "browser_bootstrap.py"))
        log_error(error)
        out.drain()
        return json.dumps({"type": "init_error", "error": error})
    out.drain()
    return json.dumps({"type": "init_done"})


def invoke(request_json):
    try:
        return _invoke(json.loads(request_json))
    except KeyboardInterrupt:  # the page's timeout, through pyodide.setInterruptBuffer
        if _state["out"] is not None:
            _state["out"].drain()
        peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
        return json.dumps({"type": "interrupted", "max_memory_used_bytes": peak})


def _invoke(request):
    init_message = _state["init"]
    context = LambdaContext(
        request["id"],
        request["deadline_ms"],
        init_message["function_name"],
        init_message["memory_mb"],
        request.get("arn") or init_message["arn"],
        init_message["log_stream_name"],
        init_message.get("function_version", "$LATEST"),
    )
    event = json.loads(request["event"]) if isinstance(request["event"], str) else request["event"]
    tracemalloc.reset_peak()
    kind, value = invoke_handler(_state["handler"], event, context)
    peak = tracemalloc.get_traced_memory()[1]
    if kind == "error":
        log_error(value)
    _state["out"].drain()
    if kind == "result":
        return json.dumps({"type": "result", "payload": value, "max_memory_used_bytes": peak})
    return json.dumps({"type": "error", "error": value, "max_memory_used_bytes": peak})
