"""The home page, creating a function, and the health check."""

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sandbox.models import Function
from sandbox.web.fields import ConfigError
from sandbox.web.forms import clean_config
from sandbox.web.learners import TooManyGuests, ensure_learner, too_many_guests_response
from sandbox.web.status import isolation_status


@require_GET
def home(request):
    functions = Function.objects.filter(owner=request.user) if request.user.is_authenticated else []
    return render(request, "home.html", {"functions": functions})


@require_POST
def function_new(request):
    try:
        user = ensure_learner(request)
    except TooManyGuests as exc:
        return too_many_guests_response(request, exc)
    try:
        cleaned = clean_config({"name": request.POST.get("name", "")}, partial=True)
    except ConfigError:
        cleaned = {"name": "hello-world"}
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
