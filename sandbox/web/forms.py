"""Validating what a learner sends for their function (page and API share these rules)."""

from sandbox.engine.rules import logconfig
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
        if not isinstance(key, str) or not _is_variable_name(key):
            raise ConfigError("environment", f"Environment variable name {key[:64]!r} is not valid.")
        if key.startswith("AWS_") or key in ("_HANDLER", "LAMBDA_TASK_ROOT", "TZ"):
            raise ConfigError("environment", f"{key} is reserved by the Lambda runtime.")
        if not isinstance(val, (str, int, float, bool)):
            raise ConfigError("environment", f"The value of {key} must be a string.")
        if "\x00" in str(val):
            raise ConfigError(
                "environment", f"The value of {key} contains a NUL character, which no environment can hold."
            )
        env[key] = str(val)
    return env


def _is_variable_name(key):
    return key.isascii() and key.replace("_", "a").isalnum() and not key[:1].isdigit()


def clean_logging(value, current=None):
    """Lambda's logging configuration: {log_format, application_log_level, system_log_level}."""
    try:
        return logconfig.validate(value, current)
    except logconfig.LoggingConfigError as exc:
        raise ConfigError("logging", str(exc)) from None


def logging_from_form(data):
    """The page's logging fields (log_format, and the level selects, disabled with Text)."""
    fields = {key: data.get(key) for key in logconfig.DEFAULTS if data.get(key)}
    return fields or None


def clean_config(data, partial=True, current_logging=None):
    """The validated subset of {name, code, handler, memory_mb, timeout_s, environment, logging}."""
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
    if data.get("logging") is not None:
        cleaned["logging"] = clean_logging(data["logging"], current_logging)
    return cleaned


def clean_concurrency(data, function, provisioned_total=0):
    """reserved_concurrency (None = unreserved, 0 disables), within the server's fair shares
    (settings.SCALING): every reservation together leaves the unreserved floor, and one
    learner's functions together stay within their share. A value over a cap is refused with a
    message naming it. Provisioned concurrency is set on a version or an alias
    (sandbox.versions, which checks its shares), and must fit under the reserved concurrency."""
    from django.conf import settings

    scaling = settings.SCALING
    cleaned = {}
    account = scaling["ACCOUNT_CONCURRENCY"]
    if "reserved_concurrency" in data:
        raw = data.get("reserved_concurrency")
        if raw in (None, ""):
            cleaned["reserved_concurrency"] = None
        else:
            value = int_field(data, "reserved_concurrency", 0, account, "Reserved concurrency")
            if value < provisioned_total:
                raise ConfigError(
                    "reserved_concurrency",
                    f"Reserved concurrency ({value}) cannot be less than the provisioned concurrency "
                    f"configured on this function's versions and aliases ({provisioned_total}).",
                )
            _check_reservation(function, value, scaling)
            cleaned["reserved_concurrency"] = value
    return cleaned


def _total_reserved(functions):
    return sum(functions.exclude(reserved_concurrency=None).values_list("reserved_concurrency", flat=True))


def _check_reservation(function, value, scaling):
    from sandbox.models import Function

    everyone = Function.objects.exclude(pk=function.pk) if function.pk else Function.objects.all()
    mine = everyone.filter(owner_id=function.owner_id)
    account, floor = scaling["ACCOUNT_CONCURRENCY"], scaling["UNRESERVED_FLOOR"]
    cap = scaling["LEARNER_RESERVED"]
    reserved_by_me = _total_reserved(mine)
    if reserved_by_me + value > cap:
        raise ConfigError(
            "reserved_concurrency",
            f"Reserved concurrency {value} is over your share: your functions may reserve {cap} in all "
            f"and the others already reserve {reserved_by_me}, so at most {max(0, cap - reserved_by_me)} "
            "is left for this one.",
        )
    reserved = _total_reserved(everyone)
    left = max(0, account - floor - reserved)
    if value > left:
        raise ConfigError(
            "reserved_concurrency",
            f"Reserved concurrency {value} would cut into the unreserved floor: of this server's "
            f"{account} concurrent executions, {floor} always stay unreserved and other functions "
            f"reserve {reserved}, so at most {left} can be reserved now.",
        )


def apply_concurrency(function, data):
    """Validate and save the reserved concurrency; returns True when it changed."""
    total = sum(c.requested for c in function.provisioned_configs.all())
    cleaned = clean_concurrency(data, function, total)
    changed = False
    for key, value in cleaned.items():
        if getattr(function, key) != value:
            setattr(function, key, value)
            changed = True
    if changed:
        function.save()
    return changed


def apply_config(function, data):
    """Validate the fields present in `data` and save them on `function` (page form fields)."""
    fields = {k: data[k] for k in ("code", "handler", "memory_mb", "timeout_s", "environment") if k in data}
    form_logging = logging_from_form(data)
    if form_logging is not None:
        fields["logging"] = form_logging
    cleaned = clean_config(fields, current_logging=None if form_logging else function.logging)
    changed = [k for k, v in cleaned.items() if getattr(function, k) != v]
    for key in changed:
        setattr(function, key, cleaned[key])
    if changed:
        # Only these fields: the page's copy of the function may be stale in others (its layers,
        # concurrency) that another form changed since the page opened.
        function.save(update_fields=[*changed, "updated"])
    return function
