"""Learners without an account get a guest user tied to their session: their functions survive
reloads, and the same ownership rules apply to everyone."""

import secrets

from django.contrib.auth import get_user_model, login

GUEST_PREFIX = "guest-"


def ensure_learner(request):
    if request.user.is_authenticated:
        return request.user
    User = get_user_model()
    user = User.objects.create_user(username=f"{GUEST_PREFIX}{secrets.token_hex(6)}")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return user


def display_name(user):
    if user.username.startswith(GUEST_PREFIX):
        return "Guest learner"
    return user.get_full_name() or user.username
