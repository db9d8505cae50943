"""The learner's API token: created or rotated on request, its key shown once (only its hash is
stored)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from sandbox.models import ApiToken
from sandbox.web.page_context import token_context

TEMPLATES = {True: "sandbox/fragments/api_token.html", False: "sandbox/api_token.html"}


@require_POST
@login_required
def issue_token(request):
    key = ApiToken.issue(request.user)
    context = dict(token_context(request.user, key), function_slug=request.POST.get("function", ""))
    # htmx swaps the box in the page; without JavaScript, a page of its own.
    in_page = bool(request.headers.get("HX-Request"))
    response = render(request, TEMPLATES[in_page], context)
    response["Cache-Control"] = "no-store"  # the key must not be kept by a cache
    return response
