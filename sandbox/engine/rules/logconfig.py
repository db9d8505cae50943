"""Lambda's logging configuration: the log format (Text or JSON) and, in JSON, log-level filtering.

- Text (the default): the platform writes START/END/REPORT lines; nothing is filtered.
- JSON: the runtime writes `logging` records as JSON objects (AWS_LAMBDA_LOG_FORMAT=JSON, with
  AWS_LAMBDA_LOG_LEVEL set to the application log level); the platform writes `platform.start`
  and `platform.report` records instead of START and REPORT (there is no END record), and drops
  what is below the configured levels. A line of application output gets its level from a JSON
  object's "level" key; anything else (a print(), a traceback line) counts as INFO.
Levels can only be set with the JSON format, as on AWS. Standard library only.
"""

import json
from datetime import UTC, datetime

TEXT, JSON = "Text", "JSON"
LOG_FORMATS = (TEXT, JSON)
APPLICATION_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LEVELS = ("DEBUG", "INFO", "WARN")
DEFAULTS = {"log_format": TEXT, "application_log_level": "INFO", "system_log_level": "INFO"}
_RANK = {name: rank for rank, name in enumerate(APPLICATION_LEVELS)}
# Other spellings a JSON log line may use for a level (Python's logging, awslambdaric's error record).
_ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL", "NOTSET": "TRACE"}
# Platform records' levels (a failed invocation's report stays visible at WARN).
START_LEVEL, REPORT_LEVEL, FAULT_LEVEL = "INFO", "INFO", "WARN"


class LoggingConfigError(ValueError):
    """A logging configuration AWS would reject (InvalidParameterValueException)."""


def validate(data, current=None):
    """The full configuration from a (partial) one: unknown keys, values or levels set with the
    Text format are rejected with the message AWS's API gives the idea of."""
    if not isinstance(data, dict):
        raise LoggingConfigError(
            "logging must be an object with log_format, application_log_level, system_log_level."
        )
    unknown = set(data) - set(DEFAULTS)
    if unknown:
        raise LoggingConfigError(f"Unknown logging field(s): {', '.join(sorted(map(str, unknown)))}.")
    merged = dict(DEFAULTS, **(current or {}))
    merged.update({k: v for k, v in data.items() if v is not None})
    if merged["log_format"] not in LOG_FORMATS:
        raise LoggingConfigError("log_format must be Text or JSON.")
    if merged["application_log_level"] not in APPLICATION_LEVELS:
        names = ", ".join(APPLICATION_LEVELS)
        raise LoggingConfigError(f"application_log_level must be one of {names}.")
    if merged["system_log_level"] not in SYSTEM_LEVELS:
        raise LoggingConfigError(f"system_log_level must be one of {', '.join(SYSTEM_LEVELS)}.")
    levels_given = {"application_log_level", "system_log_level"} & {
        k for k, v in data.items() if v is not None
    }
    if merged["log_format"] == TEXT and levels_given:
        raise LoggingConfigError("Log levels can only be set with the JSON log format (log_format: JSON).")
    if merged["log_format"] == TEXT:
        merged.update(application_log_level="INFO", system_log_level="INFO")
    return merged


def normalise(config):
    """A stored configuration with its defaults filled in (no validation: stored ones are valid)."""
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in (config or {}).items() if k in DEFAULTS and v})
    return merged


def is_json(config):
    return normalise(config)["log_format"] == JSON


def runtime_environment(config):
    """The variables Lambda gives the runtime for this configuration (read by awslambdaric)."""
    config = normalise(config)
    if config["log_format"] != JSON:
        return {}
    return {"AWS_LAMBDA_LOG_FORMAT": JSON, "AWS_LAMBDA_LOG_LEVEL": config["application_log_level"]}


def line_level(line):
    """The level of one line of application output: a JSON object's "level" (or the error
    record's "log_level"), else INFO."""
    text = line.strip()
    if text.startswith("{") and text.endswith("}"):
        try:
            record = json.loads(text)
        except ValueError:
            return "INFO"
        if isinstance(record, dict):
            value = record.get("level", record.get("log_level"))
            if isinstance(value, str):
                name = value.upper()
                name = _ALIASES.get(name, name)
                if name in _RANK:
                    return name
    return "INFO"


def at_least(level, threshold):
    return _RANK[level] >= _RANK[threshold]


def keeps_application_line(config, line):
    config = normalise(config)
    if config["log_format"] != JSON:
        return True
    return at_least(line_level(line), config["application_log_level"])


def keeps_system(config, level):
    config = normalise(config)
    if config["log_format"] != JSON:
        return True
    return at_least(level, config["system_log_level"])


def iso_time(when=None):
    moment = when or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def platform_start(request_id, version="$LATEST", when=None):
    record = {"requestId": request_id, "version": version}
    return json.dumps({"time": iso_time(when), "type": "platform.start", "record": record})


REPORT_STATUS = {"ok": "success", "error": "error", "timeout": "timeout"}  # anything else: failure


def platform_report(
    request_id,
    duration_ms,
    billed_ms,
    memory_mb,
    max_used_mb,
    init_duration_ms=None,
    status="ok",
    error_type=None,
    when=None,
):
    """The `platform.report` record: the REPORT line's figures (Duration to 3 decimals, as AWS
    writes it in JSON) and how the invocation ended."""
    metrics = {
        "durationMs": round(duration_ms, 3),
        "billedDurationMs": billed_ms,
        "memorySizeMB": memory_mb,
        "maxMemoryUsedMB": max_used_mb,
    }
    if init_duration_ms is not None:
        metrics["initDurationMs"] = round(init_duration_ms, 3)
    record = {"requestId": request_id, "metrics": metrics, "status": REPORT_STATUS.get(status, "failure")}
    if record["status"] != "success" and error_type:
        record["errorType"] = error_type
    return json.dumps({"time": iso_time(when), "type": "platform.report", "record": record})
