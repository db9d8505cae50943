"""Sign-in throttling, for every password form (the instructor's, the admin's).

Failed attempts are counted per (username, client address) and per address; past the limits
of settings.ABUSE, `SignInThrottle` (first in AUTHENTICATION_BACKENDS) refuses every attempt for
that pair or address, right password or not, until the lock window ends. Counting the pair, not
the username alone, keeps a student from locking the instructor out of their own account from
elsewhere; the address limit stops one address from trying many usernames.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from sandbox.web import ratelimit

ADDRESS_FACTOR = 4  # an address may fail this many times more often than one (username, address)


def _limits(username, request):
    abuse = settings.ABUSE
    address = ratelimit.client_address(request) if request is not None else "unknown"
    name = (username or "").strip().lower()[:150]
    failures, window = abuse["LOGIN_FAILURES"], abuse["LOGIN_LOCK_S"]
    return [
        ("signin-pair", f"{name}\n{address}", failures, window),
        ("signin-address", address, failures * ADDRESS_FACTOR, window),
    ]


def lock(username, request):
    """None, or the seconds until sign-in is allowed again for this username from this client."""
    waits = [
        verdict.retry_after_s
        for verdict in (ratelimit.peek(*limit) for limit in _limits(username, request))
        if not verdict.allowed
    ]
    return max(waits) if waits else None


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    for limit in _limits(credentials.get("username"), request):
        ratelimit.hit(*limit)


class SignInThrottle(ModelBackend):
    """First in AUTHENTICATION_BACKENDS: a locked attempt never reaches the password check
    (PermissionDenied stops django.contrib.auth.authenticate here); any other is left to the
    next backend. It loads users like ModelBackend, so sessions that name it (force_login in
    tests takes the first backend) stay signed in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is not None and lock(username, request) is not None:
            raise PermissionDenied("too many failed sign-ins")
        return None
