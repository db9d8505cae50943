"""Form fields shared by the page and the API, and the function limits they are checked
against (read from settings.SANDBOX, the one table where their defaults are written)."""

from django.conf import settings


class ConfigError(ValueError):
    """A bad field; the message names it."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def function_limits():
    """The configuration ranges, as the page's JavaScript gets them (json_script)."""
    s = settings.SANDBOX
    return {
        "memory_mb": [s["MEMORY_MB_MIN"], s["MEMORY_MB_MAX"]],
        "timeout_s": [s["TIMEOUT_S_MIN"], s["TIMEOUT_S_MAX"]],
        "payload_bytes": s["PAYLOAD_BYTES"],
        "websocket_message_bytes": settings.WEBSOCKET_MAX_MESSAGE_BYTES,
    }


def int_field(data, field, low, high, label):
    raw = data.get(field)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(field, f"{label} must be a whole number from {low} to {high}.") from None
    if not low <= value <= high:
        raise ConfigError(field, f"{label} must be from {low} to {high}; got {value}.")
    return value
