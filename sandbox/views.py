from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .status import isolation_status


@require_GET
def home(request):
    return render(request, "home.html")


@require_GET
def healthz(request):
    iso = isolation_status()
    return JsonResponse(
        {"status": "ok", "isolation_level": iso.level, "isolation_missing": iso.missing}
    )
