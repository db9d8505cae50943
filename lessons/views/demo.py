"""Projector demo mode: one function, big numbers, a QR code to its public URL."""

from datetime import timedelta

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lessons.models import Membership
from lessons.permissions import is_instructor
from lessons.qr import qr_svg
from sandbox.models import Function
from sandbox.web.metrics import function_metrics
from sandbox.web.public_url import function_url


# ---------------------------------------------------------------- demo mode
def _demo_function(request, slug):
    if not request.user.is_authenticated:
        raise Http404("No such function")
    function = get_object_or_404(Function, slug=slug)
    if function.owner_id == request.user.pk:
        return function
    if (
        is_instructor(request.user)
        and Membership.objects.filter(user_id=function.owner_id, classroom__instructor=request.user).exists()
    ):
        return function
    raise Http404("No such function")


@require_GET
def demo(request, slug):
    function = _demo_function(request, slug)
    url = function_url(request, function.slug)
    provisioned = sum(c.requested for c in function.provisioned_configs.all())
    context = {"function": function, "url": url, "qr": qr_svg(url), "provisioned": provisioned}
    return render(request, "lessons/demo.html", context)


@require_GET
def demo_metrics(request, slug):
    function = _demo_function(request, slug)
    # The projector shows the current burst, not ten mostly idle minutes: the window starts at
    # the first invocation of the last five minutes (or one minute ago).
    now = timezone.now()
    first = function.invocations.filter(created__gte=now - timedelta(minutes=5)).order_by("created").first()
    since = first.created - timedelta(seconds=1) if first else now - timedelta(minutes=1)
    return JsonResponse(function_metrics(function, since=since))
