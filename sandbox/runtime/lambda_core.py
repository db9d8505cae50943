"""The parts of a Lambda Python runtime that do not depend on how events arrive.

Facts follow awslambdaric (the AWS Lambda Python runtime interface client): handler loading and
its error types, the error result shape, the `[ERROR]` log block, the logging set-up (text or
JSON, from AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL) and the context object.
"""

import importlib
import json
import logging
import os
import sys
import time
import traceback

ERROR_LOG_INDENT = "\u00a0"  # awslambdaric replaces leading spaces of traceback lines with NBSP
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # awslambdaric's JSON records: whole seconds
# LogRecord attributes that are not copied into a JSON record as extra fields (awslambdaric).
_RESERVED_FIELDS = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "aws_request_id", "tenant_id",
    "_frame_type",
}  # fmt: skip

_current_request_id = ""


class FaultError(Exception):
    """An error of the runtime itself (not raised by the handler), with Lambda's error type."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace or [],
    }


def error_from_exception(exc, request_id=None, skip_files=("lambda_core.py", "bootstrap.py")):
    """Lambda's error result for an exception raised by user code: runtime frames are dropped."""
    frames = traceback.extract_tb(exc.__traceback__)
    while frames and frames[0].filename.endswith(skip_files):
        frames = frames[1:]
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def json_log_format():
    """True when the function's log format is JSON (Lambda sets AWS_LAMBDA_LOG_FORMAT)."""
    return (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"


def configured_log_level():
    """The application log level Lambda passes (AWS_LAMBDA_LOG_LEVEL), as a `logging` name;
    TRACE is DEBUG for Python's logging, as in awslambdaric. "" when none is set."""
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    return "DEBUG" if level == "TRACE" else level


def error_log_lines(error):
    """The `[ERROR] Type: message` block that awslambdaric writes for a failed invocation."""
    head = "[ERROR]"
    if error.get("errorType"):
        head += " " + error["errorType"]
    if error.get("errorMessage"):
        head += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = head.splitlines() or [head]
    if error.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            for line in element.splitlines() or [""]:
                stripped = line.lstrip(" ")
                lines.append(ERROR_LOG_INDENT * (len(line) - len(stripped)) + stripped)
    return lines


TASK_ROOT = "/var/task"


def lambda_environment(init):
    """The handler's environment variables: Lambda's, plus the function's own (init["environment"]),
    from the init message. The server's sandbox and the browser build them the same way."""
    name = init["function_name"]
    region = init.get("region") or "us-east-1"
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(init["memory_mb"]),
        "AWS_LAMBDA_FUNCTION_VERSION": init.get("function_version") or "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": init["log_stream_name"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": init["handler"],
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }
    env.update(init.get("log_environment") or {})  # AWS_LAMBDA_LOG_FORMAT / _LEVEL, when JSON
    env.update({str(k): str(v) for k, v in (init.get("environment") or {}).items()})
    return env


def apply_environment(env):
    """Set the variables in os.environ (before the handler's module is imported), or raise
    FaultError(Runtime.InvalidEnvironment) for one that no environment can hold."""
    for key, value in env.items():
        try:
            os.environ[key] = value
        except ValueError:
            raise FaultError(
                "Runtime.InvalidEnvironment",
                f"The environment variable {key[:64]!r} cannot be set: a name may not hold '=' "
                "and neither a name nor a value may hold a NUL character.",
            ) from None


def load_handler(handler):
    """Import `module.function` (the init phase) or raise FaultError with Lambda's error type."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None


# json.dumps with arguments builds an encoder per call: this one is built once (it keeps no
# state between calls).
_RESULT_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def marshal_result(value):
    """JSON text of a handler's return value, or FaultError(Runtime.MarshalError)."""
    try:
        return _RESULT_ENCODER.encode(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise FaultError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


class LambdaContext:
    """The context object handed to the handler, with the fields of the real runtime."""

    def __init__(
        self,
        request_id,
        deadline_ms,
        function_name,
        memory_mb,
        arn,
        log_stream_name,
        function_version="$LATEST",
    ):
        self.aws_request_id = request_id
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = arn  # the ARN the caller used: with the alias or version, if any
        self.memory_limit_in_mb = str(memory_mb)  # a string, as in awslambdaric
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _current_request_id
        return True


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time, like the runtime's log sink."""

    def emit(self, record):
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with awslambdaric's fields: timestamp, level, message, logger,
    requestId, and for an exception errorType, errorMessage, stackTrace and location. Extra
    attributes (logging's `extra=`) become fields; empty ones are left out."""

    def __init__(self):
        super().__init__(datefmt=JSON_DATE_FORMAT)

    def format(self, record):
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc_info = record.exc_info
        result = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
        }
        result.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _RESERVED_FIELDS and key not in result
        )
        result = {key: value for key, value in result.items() if value is not None}
        return json.dumps(result, ensure_ascii=False, default=str)


def setup_logging():
    """Lambda's handler on the root logger, as awslambdaric sets it up: the text format (or JSON
    when AWS_LAMBDA_LOG_FORMAT is JSON) in UTC. The root logger keeps Python's level (WARNING)
    unless Lambda passes one in AWS_LAMBDA_LOG_LEVEL: logging.info is dropped by default."""
    logging.Formatter.converter = time.gmtime
    formatter = JsonFormatter() if json_log_format() else logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
    formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = configured_log_level()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    root.addHandler(handler)


def set_request_id(request_id):
    global _current_request_id
    _current_request_id = request_id


def invoke_handler(handler, event, context):
    """Call the handler. Returns ("result", json_text) or ("error", error_dict)."""
    set_request_id(context.aws_request_id)
    try:
        value = handler(event, context)
        return "result", marshal_result(value)
    except FaultError as fault:
        return "error", make_error(fault.message, fault.error_type, fault.trace, context.aws_request_id)
    except Exception as exc:
        return "error", error_from_exception(exc, context.aws_request_id)


def install_task_files(files, root):
    """Write the function's code into the task root and make it importable (done by the runtime
    itself, inside its sandbox or Pyodide: the server never writes a path in there)."""
    os.makedirs(root, exist_ok=True)
    for name, source in files.items():
        if "/" in name or name.startswith("."):
            continue
        with open(os.path.join(root, name), "w", encoding="utf-8") as handle:
            handle.write(source)
    os.chdir(root)
    sys.path.insert(0, root)


def log_error(error):
    """Write a failed invocation's error to the handler's output: the `[ERROR]` block, or in
    the JSON log format one record with awslambdaric's `log_level` key."""
    if json_log_format():
        stamp = time.strftime(JSON_DATE_FORMAT, time.gmtime())
        record = {"timestamp": stamp, "log_level": "ERROR", **error}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    sys.stdout.write("\n".join(error_log_lines(error)) + "\n")
