"""Strict readers for settings from environment variables: a bad value stops start-up with a
message naming the variable, instead of silently meaning something else."""

import math
import os

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of {sorted(TRUE | FALSE - {''})}")


def env_int(name, default, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None
    if minimum is not None and value < minimum:
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name}={value}: expected a number {bound}")
    if maximum is not None and value > maximum:
        bound = f"from {minimum} to {maximum}" if minimum is not None else f"at most {maximum}"
        raise ImproperlyConfigured(f"{name}={value}: expected a number {bound}")
    return value


def env_float(name, default, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a finite number")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: expected at least {minimum}")
    return value


def env_choice(name, choices, default):
    raw = os.environ.get(name, default)
    if raw not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected one of {', '.join(map(repr, choices))}")
    return raw


def env_list(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql")


def database_from_url(url, conn_max_age):
    """DATABASE_URL -> a Django DATABASES entry. PostgreSQL only: SQLite is the default without
    a URL, and no other engine is tested."""
    import dj_database_url

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            "DATABASE_URL: expected postgres://USER:PASSWORD@HOST:PORT/NAME, "
            f"got a {scheme or 'malformed'} URL"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL: {error}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL: the URL names no database (…/NAME at its end)")
    return config


def env_origin(name, default=""):
    """An origin, "scheme://host[:port]" with http or https and nothing after it; "" when unset.
    Returned lower-case, without a trailing slash (PUBLIC_URL, FUNCTION_URL_BASE)."""
    from urllib.parse import urlsplit

    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ImproperlyConfigured(
            f"{name}={raw!r}: expected http(s)://HOST[:PORT] with no path, "
            "e.g. https://fn.example.org or http://192.168.1.20:8000"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"
