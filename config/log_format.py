"""Server log lines: a UTC timestamp, the level and the logger on every line, as text
(`2026-11-29T17:40:01.123Z INFO daphne.server: Listening on ...`) or, with LOG_FORMAT=json, one
JSON object per line for a log collector."""

import json
import logging
from datetime import UTC, datetime


def _timestamp(record):
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


class TextFormatter(logging.Formatter):
    def format(self, record):
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
