"""The isolation level this host gives, detected once per process and shown everywhere."""

from functools import cache

from django.conf import settings

from sandbox.engine.isolation import detect


@cache
def isolation_status():
    """Raises IsolationUnavailable when SANDBOX_REQUIRE asks for more than the host gives."""
    return detect(require=settings.SANDBOX["REQUIRE"] or None)
