"""The Power tuning tab: start a sweep over memory sizes, watch it, stop it, read the chart."""

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sandbox.models import PowerTuning
from sandbox.web.fields import ConfigError
from sandbox.web.ownership import own_function
from sandbox.web.tuning_runs import create_run, fail_stale_runs, request_stop, run_report, size_choices
from sandbox.worker import start_power_tuning


def form_values(function, shown_id=None, posted=None):
    """What the form shows, so nothing typed is lost: the form just posted (after an error), else
    the settings of the run on screen, else of the latest run, else the defaults."""
    if posted is not None:
        return {
            "memory_sizes": [s for s in posted.getlist("memory_sizes") if s.isdigit()],
            "more_sizes": posted.get("more_sizes", ""),
            "invocations_per_size": posted.get("invocations_per_size", ""),
            "event": posted.get("event", ""),
        }
    runs = function.power_tunings.all()
    source = runs.filter(pk=shown_id).first() if str(shown_id or "").isdigit() else None
    source = source or runs.first()
    if source is None:
        return {"memory_sizes": [str(s) for s in size_choices()], "more_sizes": "",
                "invocations_per_size": 10, "event": "{}"}  # fmt: skip
    offered = set(size_choices())
    return {
        "memory_sizes": [str(s) for s in source.memory_sizes if s in offered],
        "more_sizes": ", ".join(str(s) for s in source.memory_sizes if s not in offered),
        "invocations_per_size": source.invocations_per_size,
        "event": source.event,
    }


def _context(request, function, posted=None, **extra):
    shown = request.GET.get("run")
    runs = list(function.power_tunings.all()[:5])
    current = None
    if str(shown or "").isdigit():
        current = function.power_tunings.filter(pk=shown).first()
    current = current or (runs[0] if runs else None)
    context = {
        "function": function,
        "form": form_values(function, shown, posted),
        "size_choices": [str(s) for s in size_choices()],
        "runs": runs,
        "current": current,
        "limits": PowerTuning,
    }
    context.update(extra)
    return context


@require_GET
def tuning_page(request, slug):
    function = own_function(request, slug)
    fail_stale_runs(function)
    return render(request, "sandbox/tuning.html", _context(request, function))


async def tuning_start(request, slug):
    if request.method != "POST":
        return redirect("tuning", slug=slug)
    function = await sync_to_async(own_function)(request, slug)
    data = request.POST
    try:
        run = await sync_to_async(create_run)(
            function,
            data.getlist("memory_sizes") + [data.get("more_sizes", "")],
            data.get("invocations_per_size"),
            data.get("event"),
        )
    except ConfigError as exc:
        context = await sync_to_async(_context)(request, function, data, start_error=str(exc))
        return await sync_to_async(render)(request, "sandbox/tuning.html", context, status=400)
    await start_power_tuning(run)
    return redirect(f"{reverse('tuning', args=[slug])}?run={run.pk}")


@require_POST
def tuning_stop(request, slug):
    function = own_function(request, slug)
    request_stop(function)
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    shown = request.POST.get("run", "")
    return redirect(
        f"{reverse('tuning', args=[slug])}?run={shown}" if shown.isdigit() else reverse("tuning", args=[slug])
    )


@require_GET
def tuning_json(request, slug, run_id):
    function = own_function(request, slug)
    run = get_object_or_404(PowerTuning, function=function, pk=run_id)
    return JsonResponse(run_report(run))
