"""Which functions a request may see: its own, or none (404, so names do not leak)."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from sandbox.models import Function


def own_function(request, slug):
    if not request.user.is_authenticated:
        raise Http404("No such function")
    return get_object_or_404(Function, slug=slug, owner=request.user)
