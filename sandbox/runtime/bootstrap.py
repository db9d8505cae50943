"""Entry point of an execution environment (the child process).

Protocol (one JSON object per line):
  events fd (in, argv[1])     first an init message {"handler", "files": {name: source}, "function_name",
              "function_version", "memory_mb", "arn", "region", "log_stream_name", "environment":
              {name: value}, "log_environment", "service_call_bytes", and "opt_dir" where layers
              are not at /opt}, then one invoke message per event {"id", "event", "deadline_ms",
              "arn"} ("arn": the ARN the caller invoked, with its alias or version; and, during an
              invocation, the replies to service calls).
  messages fd (out, argv[2]) {"type": "init_done"} | {"type": "init_error", "error"} then, per invoke,
              {"type": "result", "id", "payload"} | {"type": "error", "id", "error"}
              (and {"type": "call", "id", "op", "args"}: see coldstart/channel.py).
  fd 1, 2     handler output, read line by line by the parent as it is written.
The parent measures every duration and memory figure itself; nothing here reports time. The
function's environment variables come in the init message and are set here, before the handler's
module is imported: no helper that starts the sandbox ever sees them.
"""

import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script dir out

from lambda_core import (  # noqa: E402
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


def unbuffered_text(fd):
    # write_through: every print() reaches the parent at once, as in the Lambda runtime.
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", write_through=True)


def send(channel, message):
    # The leading newline ends whatever a handler may have written to this pipe unfinished,
    # so our message always starts a line of its own (the parent ignores empty lines).
    channel.write("\n" + json.dumps(message, ensure_ascii=False) + "\n")


_text = json.JSONEncoder(ensure_ascii=False).encode


def send_result(channel, request_id, payload):
    """send(channel, {"type": "result", "id": request_id, "payload": payload}), the same bytes,
    without building the message (the one message of every successful invoke)."""
    text = '\n{"type": "result", "id": ' + _text(request_id) + ', "payload": ' + _text(payload) + "}\n"
    channel.write(text)


def write_task_files(files):
    """Write the function's code into the task root, inside the sandbox (the parent never does)."""
    root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    try:
        os.makedirs(root, exist_ok=True)
        probe = os.path.join(root, ".probe")
        open(probe, "w").close()
        os.unlink(probe)
    except OSError:  # unsandboxed fallback (isolation level rlimits-only): a private temp dir
        import tempfile

        root = os.environ["LAMBDA_TASK_ROOT"] = tempfile.mkdtemp(prefix="task-")
    install_task_files(files, root)


def add_layer_paths(opt="/opt"):
    """Lambda's Python runtime puts the layers' directories on sys.path after the task root:
    /opt/python/lib/python3.X/site-packages, then /opt/python (docs: "Layer paths")."""
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    sys.path[0:0] = [os.path.join(opt, "python", "lib", python, "site-packages"), os.path.join(opt, "python")]


def main():
    sys.dont_write_bytecode = True
    sys.stdout = unbuffered_text(1)
    sys.stderr = unbuffered_text(2)
    events_fd, messages_fd = int(sys.argv[1]), int(sys.argv[2])
    events = io.TextIOWrapper(io.FileIO(events_fd, "r"), encoding="utf-8")
    messages = io.TextIOWrapper(
        io.FileIO(messages_fd, "w"), encoding="utf-8", line_buffering=True, write_through=True
    )
    from coldstart import channel

    init = json.loads(events.readline())
    channel.connect(events, messages, init.get("service_call_bytes"))
    add_layer_paths(init.get("opt_dir") or "/opt")
    write_task_files(init.get("files", {}))
    try:
        try:
            apply_environment(lambda_environment(init))
        finally:
            setup_logging()  # after the environment: AWS_LAMBDA_LOG_FORMAT picks text or JSON
        handler = load_handler(init["handler"])
    except FaultError as fault:
        error = make_error(fault.message, fault.error_type, fault.trace)
        log_error(error)
        send(messages, {"type": "init_error", "error": error})
        return
    except Exception as exc:  # module-level code raised
        error = error_from_exception(exc)
        log_error(error)
        send(messages, {"type": "init_error", "error": error})
        return
    send(messages, {"type": "init_done"})

    name, memory_mb, arn = init["function_name"], init["memory_mb"], init["arn"]
    stream, version = init["log_stream_name"], init.get("function_version", "$LATEST")
    for line in events:
        request = json.loads(line)
        context = LambdaContext(
            request["id"], request["deadline_ms"], name, memory_mb, request.get("arn") or arn, stream, version
        )
        kind, value = invoke_handler(handler, request["event"], context)
        if kind == "result":
            send_result(messages, request["id"], value)
        else:
            log_error(value)
            send(messages, {"type": "error", "id": request["id"], "error": value})


if __name__ == "__main__":
    main()
