"""The home page, creating a function, and the health check."""

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sandbox.models import Function
from sandbox.web.fields import ConfigError
from sandbox.web.forms import clean_config
from sandbox.web.learners import TooManyGuests, ensure_learner, too_many_guests_response
from sandbox.web.status import isolation_status

DEFAULT_FUNCTION_NAME = "hello-world"  # what the name field's placeholder promises


@require_GET
def home(request):
    functions = Function.objects.filter(owner=request.user) if request.user.is_authenticated else []
    context = {"functions": functions, "default_function_name": DEFAULT_FUNCTION_NAME}
    return render(request, "home.html", context)


@require_POST
def function_new(request):
    """A new function of this learner (a guest one on the first visit); an empty name, or one that
    is not valid, takes the default."""
    try:
        user = ensure_learner(request)
    except TooManyGuests as exc:
        return too_many_guests_response(request, exc)
    name = request.POST.get("name", "").strip() or DEFAULT_FUNCTION_NAME
    try:
        cleaned = clean_config({"name": name}, partial=True)
    except ConfigError:
        cleaned = {"name": DEFAULT_FUNCTION_NAME}
    function = Function.objects.create(owner=user, name=cleaned["name"])
    return redirect(function)


@require_GET
def healthz(request):
    """The level is public (monitoring checks it); what is missing is for staff only."""
    iso = isolation_status()
    body = {"status": "ok", "isolation_level": iso.level}
    if request.user.is_staff:
        body["isolation_missing"] = iso.missing
    return JsonResponse(body)
