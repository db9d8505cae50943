"""Learners without an account get a guest user tied to their session: their functions survive
reloads, and the same ownership rules apply to everyone.

A guest is made only by a POST that needs one (Invoke, Check, New function, Join), never by a
page view, and each client address may make only so many an hour (settings.ABUSE)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.http import HttpResponse
from django.template.loader import render_to_string

from sandbox.web import ratelimit

GUEST_PREFIX = "guest-"
GUEST_WINDOW_S = 3600


class TooManyGuests(Exception):
    def __init__(self, retry_after_s):
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(
            "Too many new guest learners from your network address. Try again in about "
            f"{minutes} minute{'s' if minutes != 1 else ''}, or ask your instructor."
        )
        self.retry_after_s = retry_after_s


def ensure_learner(request):
    """The request's user, or a new guest signed in on this session; TooManyGuests past the limit."""
    if request.user.is_authenticated:
        return request.user
    verdict = ratelimit.hit(
        "guest",
        ratelimit.client_address(request),
        settings.ABUSE["GUESTS_PER_ADDRESS_PER_HOUR"],
        GUEST_WINDOW_S,
    )
    if not verdict.allowed:
        raise TooManyGuests(verdict.retry_after_s)
    User = get_user_model()
    user = User.objects.create_user(username=f"{GUEST_PREFIX}{secrets.token_hex(6)}")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return user


def too_many_guests_response(request, exc):
    """429, as a page (or a fragment for htmx, which shows it where the result would go)."""
    htmx = request.headers.get("HX-Request")
    template = "sandbox/fragments/notice.html" if htmx else "sandbox/refused.html"
    html = render_to_string(template, {"level": "error", "message": str(exc)}, request=request)
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(exc.retry_after_s)
    return response


def display_name(user):
    if user.username.startswith(GUEST_PREFIX):
        return "Guest learner"
    return user.get_full_name() or user.username
