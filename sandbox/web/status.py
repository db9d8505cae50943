"""The isolation level this host gives, detected once per process and shown everywhere."""

from functools import cache

from django.conf import settings

from sandbox.engine.isolation import IsolationUnavailable
from sandbox.worker.config import isolation_from_settings


@cache
def isolation_status():
    """Raises IsolationUnavailable when SANDBOX_REQUIRE asks for more than the host gives."""
    try:
        return isolation_from_settings()
    except IsolationUnavailable as exc:
        if settings.SANDBOX["ALLOW_WEAK_ISOLATION"]:
            raise
        raise IsolationUnavailable(
            f"{exc}. Fix what is missing; to run with less anyway (never for a class), set "
            "SANDBOX_ALLOW_WEAK_ISOLATION=true: every page then says what is missing."
        ) from None
