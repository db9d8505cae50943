"""Validating what a learner sends for their function (page and API share these rules)."""

from sandbox.web.fields import ConfigError, function_limits, int_field

MAX_CODE_BYTES = 256 * 1024
MAX_NAME = 64


def parse_environment(value):
    """A dict, or 'KEY=value' lines. Keys must be valid environment variable names."""
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, str):
        pairs = []
        for number, line in enumerate(value.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "=" not in line:
                raise ConfigError("environment", f"Environment line {number}: expected KEY=value.")
            key, _, val = line.partition("=")
            pairs.append((key.strip(), val))
    else:
        raise ConfigError("environment", "environment must be an object of strings or KEY=value lines.")
    env = {}
    for key, val in pairs:
        if not isinstance(key, str) or not key.replace("_", "a").isalnum() or key[:1].isdigit():
            raise ConfigError("environment", f"Environment variable name {key!r} is not valid.")
        if key.startswith("AWS_") or key in ("_HANDLER", "LAMBDA_TASK_ROOT", "TZ"):
            raise ConfigError("environment", f"{key} is reserved by the Lambda runtime.")
        env[key] = str(val)
    return env


def clean_config(data, partial=True):
    """The validated subset of {name, code, handler, memory_mb, timeout_s, environment}."""
    cleaned = {}
    limits = function_limits()
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ConfigError("name", f"name must be a non-empty string of at most {MAX_NAME} characters.")
        cleaned["name"] = name.strip()
    if "code" in data or not partial:
        code = data.get("code")
        if not isinstance(code, str):
            raise ConfigError("code", "code must be a string of Python source.")
        if len(code.encode()) > MAX_CODE_BYTES:
            raise ConfigError("code", f"code is over {MAX_CODE_BYTES // 1024} KiB.")
        cleaned["code"] = code
    if "handler" in data:
        handler = data.get("handler")
        if not isinstance(handler, str) or not handler.isidentifier():
            raise ConfigError("handler", "handler must be the name of a Python function, e.g. handler.")
        cleaned["handler"] = handler
    if "memory_mb" in data:
        cleaned["memory_mb"] = int_field(data, "memory_mb", *limits["memory_mb"], "Memory (MB)")
    if "timeout_s" in data:
        cleaned["timeout_s"] = int_field(data, "timeout_s", *limits["timeout_s"], "Timeout (s)")
    if "environment" in data:
        cleaned["environment"] = parse_environment(data.get("environment"))
    return cleaned


def clean_concurrency(data, current_reserved=None):
    """reserved_concurrency (None = unreserved, 0 disables) and provisioned_concurrency."""
    from django.conf import settings

    cleaned = {}
    account = settings.SCALING["ACCOUNT_CONCURRENCY"]
    if "reserved_concurrency" in data:
        raw = data.get("reserved_concurrency")
        if raw in (None, ""):
            cleaned["reserved_concurrency"] = None
        else:
            cleaned["reserved_concurrency"] = int_field(
                data, "reserved_concurrency", 0, account, "Reserved concurrency"
            )
    if "provisioned_concurrency" in data:
        host = settings.SANDBOX["MAX_ENVIRONMENTS"]
        raw = data.get("provisioned_concurrency")
        value = (
            0
            if raw in (None, "")
            else int_field(data, "provisioned_concurrency", 0, min(account, host), "Provisioned concurrency")
        )
        reserved = cleaned.get("reserved_concurrency", current_reserved)
        if reserved is not None and value > reserved:
            raise ConfigError(
                "provisioned_concurrency",
                f"Provisioned concurrency ({value}) cannot exceed reserved concurrency ({reserved}).",
            )
        cleaned["provisioned_concurrency"] = value
    return cleaned


def apply_concurrency(function, data):
    """Validate and save the concurrency settings; returns True when they changed."""
    from django.utils import timezone

    cleaned = clean_concurrency(data, function.reserved_concurrency)
    changed = False
    for key, value in cleaned.items():
        if getattr(function, key) != value:
            setattr(function, key, value)
            changed = True
    if changed:
        if function.provisioned_concurrency and not function.provisioned_since:
            function.provisioned_since = timezone.now()
        elif not function.provisioned_concurrency:
            function.provisioned_since = None
        function.save()
    return changed


def apply_config(function, data):
    """Validate the fields present in `data` and save them on `function` (page form fields)."""
    fields = {k: data[k] for k in ("code", "handler", "memory_mb", "timeout_s", "environment") if k in data}
    cleaned = clean_config(fields)
    changed = [k for k, v in cleaned.items() if getattr(function, k) != v]
    for key in changed:
        setattr(function, key, cleaned[key])
    if changed:
        # Only these fields: the page's copy of the function may be stale in others (its layers,
        # concurrency) that another form changed since the page opened.
        function.save(update_fields=[*changed, "updated"])
    return function
