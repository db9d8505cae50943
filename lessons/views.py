import json
from datetime import timedelta

import segno
from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import Count, Sum
from django.db.models.functions import TruncMinute
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from sandbox.dispatch import configure_function
from sandbox.forms import ConfigError, apply_concurrency, apply_config
from sandbox.learners import ensure_learner
from sandbox.metrics import function_metrics
from sandbox.models import Function, Invocation

from . import loader
from .models import Classroom, Lesson, Membership, Step, StepProgress
from .permissions import instructor_required, is_instructor
from .progress import (
    current_membership,
    first_open_step,
    is_unlocked,
    lesson_state,
    progress_for,
    progress_map,
)
from .rendering import render_markdown
from .runner import new_function, run_step


# ---------------------------------------------------------------- students
@require_GET
def lesson_list(request):
    lessons = list(Lesson.objects.filter(active=True).prefetch_related("steps"))
    rows = []
    for lesson in lessons:
        steps = list(lesson.steps.all())
        progress = progress_map(request.user, lesson)
        state, passed = lesson_state(steps, progress)
        rows.append({"lesson": lesson, "steps": len(steps), "passed": passed, "state": state})
    return render(
        request,
        "lessons/list.html",
        {
            "rows": rows,
            "membership": current_membership(request.user),
            "instructor": is_instructor(request.user),
        },
    )


def _lesson(slug):
    return get_object_or_404(Lesson, slug=slug, active=True)


@require_GET
def lesson_start(request, slug):
    lesson = _lesson(slug)
    steps = list(lesson.steps.all())
    step = first_open_step(steps, progress_map(request.user, lesson))
    if step is None:
        raise Http404("This lesson has no steps")
    return redirect("lessons:step", slug=lesson.slug, number=step.number)


@require_GET
def step_page(request, slug, number):
    lesson = _lesson(slug)
    steps = list(lesson.steps.all())
    step = next((s for s in steps if s.number == number), None)
    if step is None:
        raise Http404("No such step")
    progress = progress_map(request.user, lesson)
    if not is_unlocked(step, progress):
        messages.info(request, f"Step {number} unlocks when step {number - 1}'s check passes.")
        return redirect("lessons:start", slug=lesson.slug)
    user = ensure_learner(request)
    row = progress_for(user, step)
    progress[step.number] = row
    return render(request, "lessons/step.html", _step_context(request, lesson, steps, step, row, progress))


def _step_context(request, lesson, steps, step, row, progress):
    nav = []
    for s in steps:
        p = progress.get(s.number)
        nav.append(
            {
                "step": s,
                "passed": bool(p and p.passed),
                "unlocked": is_unlocked(s, progress),
                "current": s.number == step.number,
            }
        )
    next_step = next((s for s in steps if s.number == step.number + 1), None)
    config = step.function_config
    return {
        "lesson": lesson,
        "step": step,
        "row": row,
        "function": row.function,
        "nav": nav,
        "next_step": next_step,
        "intro_html": render_markdown(lesson.intro_md) if step.number == 1 else "",
        "body_html": render_markdown(step.body_md),
        "concurrency_box": "reserved_concurrency" in step.solution_config
        or "provisioned_concurrency" in step.solution_config
        or "reserved_concurrency" in config,
        "membership": current_membership(request.user),
        "lesson_done": all(nav_item["passed"] for nav_item in nav),
    }


def _own_progress(request, slug, number):
    if not request.user.is_authenticated:
        raise Http404("No such step")
    step = get_object_or_404(Step, lesson__slug=slug, lesson__active=True, number=number)
    row = (
        StepProgress.objects.filter(user=request.user, step=step)
        .select_related("function", "step__lesson")
        .first()
    )
    if row is None or row.function is None:
        raise Http404("Open the step first")
    return row.step, row


@xframe_options_sameorigin
@require_GET
def embedded_playground(request, slug, number):
    """The learner's own playground for this step, framed beside the lesson text."""
    from sandbox.views import _page_context

    step, row = _own_progress(request, slug, number)
    return render(request, "sandbox/function.html", _page_context(request, row.function))


async def check_step(request, slug, number):
    if request.method != "POST":
        return redirect("lessons:step", slug=slug, number=number)
    step, row = await sync_to_async(_own_progress)(request, slug, number)
    function = row.function
    error = None
    fields = {k: request.POST[k] for k in ("code", "handler", "memory_mb", "timeout_s") if k in request.POST}
    if fields:
        try:
            function = await sync_to_async(apply_config)(function, fields)
        except ConfigError as exc:
            error = str(exc)
    outcome = None
    if error is None:
        outcome, _ = await run_step(function, step.events, step.run, step.checks)
    row = await sync_to_async(_record)(row, outcome, error)
    context = {
        "step": step,
        "lesson": step.lesson,
        "row": row,
        "outcome": outcome,
        "error": error,
        "next_step": await sync_to_async(lambda: step.lesson.steps.filter(number=step.number + 1).first())(),
    }
    if request.headers.get("HX-Request"):
        return await sync_to_async(render)(request, "lessons/fragments/check_result.html", context)
    return redirect("lessons:step", slug=slug, number=number)


def _record(row, outcome, error):
    now = timezone.now()
    row.attempts += 1
    row.last_attempt = now
    row.membership = current_membership(row.user)
    row.last_message = error or outcome.summary
    if outcome is not None and outcome.passed and row.passed_at is None:
        row.passed_at = now
    row.save()
    return row


@require_POST
def step_concurrency(request, slug, number):
    step, row = _own_progress(request, slug, number)
    try:
        changed = apply_concurrency(row.function, request.POST)
        if changed:
            from asgiref.sync import async_to_sync

            async_to_sync(configure_function)(row.function)
        note = "Saved." if changed else "Nothing changed."
    except ConfigError as exc:
        note = str(exc)
    return render(
        request, "lessons/fragments/concurrency.html", {"function": row.function, "note": note, "step": step}
    )


@require_POST
def step_reset(request, slug, number):
    step, row = _own_progress(request, slug, number)
    function = row.function
    function.code = step.starter_code
    function.handler = step.handler
    for key, value in _config_fields(step.function_config).items():
        setattr(function, key, value)
    function.save()
    messages.info(request, "Your code is back to the starter.")
    return redirect("lessons:step", slug=slug, number=number)


def _config_fields(config):
    from .runner import config_fields

    fields = config_fields(config)
    fields.setdefault("reserved_concurrency", None)
    fields.setdefault("provisioned_concurrency", 0)
    if not fields["provisioned_concurrency"]:
        fields["provisioned_since"] = None
    return fields


def join_classroom(request):
    error = None
    if request.method == "POST":
        code = request.POST.get("code", "").strip().upper()
        name = request.POST.get("display_name", "").strip()[:60]
        classroom = Classroom.objects.filter(join_code=code).first()
        if classroom is None:
            error = "No classroom has that join code. Check the code on the projector (letters and digits)."
        elif not name:
            error = "Choose a display name your instructor will recognise."
        else:
            user = ensure_learner(request)
            membership, _ = Membership.objects.update_or_create(
                classroom=classroom, user=user, defaults={"display_name": name, "joined": timezone.now()}
            )
            StepProgress.objects.filter(user=user).update(membership=membership)
            messages.success(
                request,
                f"You joined {classroom.name} as {name}. Your progress is shared with your instructor.",
            )
            return redirect("lessons:list")
    return render(request, "lessons/join.html", {"error": error, "code": request.GET.get("code", "")})


# ---------------------------------------------------------------- instructors
class InstructorLogin(auth_views.LoginView):
    template_name = "lessons/login.html"

    def get_default_redirect_url(self):
        return reverse("lessons:instructor")


@instructor_required
def instructor_home(request):
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:120]
        if name:
            classroom = Classroom.objects.create(name=name, instructor=request.user)
            return redirect("lessons:dashboard", code=classroom.join_code)
        messages.error(request, "Give the classroom a name.")
    classrooms = Classroom.objects.filter(instructor=request.user).annotate(students=Count("memberships"))
    return render(
        request,
        "lessons/instructor.html",
        {"classrooms": classrooms, "lesson_dirs": [p.name for p in loader.lesson_dirs()]},
    )


def _my_classroom(request, code):
    return get_object_or_404(Classroom, join_code=code, instructor=request.user)


@instructor_required
def dashboard(request, code):
    classroom = _my_classroom(request, code)
    join_url = request.build_absolute_uri(reverse("lessons:join") + f"?code={classroom.join_code}")
    return render(
        request,
        "lessons/dashboard.html",
        {
            "classroom": classroom,
            "join_url": join_url,
            "qr": _qr_svg(join_url, scale=4),
            **_dashboard_context(classroom),
        },
    )


@instructor_required
def dashboard_grid(request, code):
    classroom = _my_classroom(request, code)
    return render(
        request,
        "lessons/fragments/dashboard_grid.html",
        {"classroom": classroom, **_dashboard_context(classroom)},
    )


def _dashboard_context(classroom):
    now = timezone.now()
    lessons = list(Lesson.objects.filter(active=True).prefetch_related("steps"))
    columns = [(lesson, list(lesson.steps.all())) for lesson in lessons]
    members = list(classroom.memberships.select_related("user"))
    users = [m.user_id for m in members]
    progress = {}
    for row in StepProgress.objects.filter(user_id__in=users).select_related("step"):
        progress[(row.user_id, row.step_id)] = row
    grid = []
    for member in members:
        cells = []
        for lesson, steps in columns:
            for step in steps:
                row = progress.get((member.user_id, step.pk))
                state = row.state(now) if row else "none"
                cells.append(
                    {
                        "state": state,
                        "title": f"{member.display_name} · {lesson.title} · step "
                        f"{step.number}: {step.title} — {_state_text(state, row)}",
                    }
                )
        passed = sum(1 for c in cells if c["state"] == "passed")
        grid.append({"member": member, "cells": cells, "passed": passed})
    since = now - timedelta(minutes=10)
    recent = Invocation.objects.filter(function__owner_id__in=users, created__gte=since)
    per_minute = {
        row["minute"]: row["n"]
        for row in recent.annotate(minute=TruncMinute("created")).values("minute").annotate(n=Count("id"))
    }
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=9)
    minutes = [(start + timedelta(minutes=i)) for i in range(10)]
    bars = [{"label": m.strftime("%H:%M"), "n": per_minute.get(m, 0)} for m in minutes]
    peak = max([b["n"] for b in bars] + [1])
    for bar in bars:
        bar["pct"] = round(100 * bar["n"] / peak)
    totals = Invocation.objects.filter(function__owner_id__in=users).aggregate(
        gb=Sum("gb_seconds"), n=Count("id")
    )
    return {
        "columns": columns,
        "grid": grid,
        "bars": bars,
        "invocations_total": totals["n"] or 0,
        "gb_seconds": totals["gb"] or 0.0,
        "invocations_last_minute": bars[-1]["n"],
        "stuck": sum(1 for r in grid for c in r["cells"] if c["state"] == "stuck"),
        "updated": now,
    }


def _state_text(state, row):
    if row is None:
        return "not started"
    minutes = int((timezone.now() - row.started).total_seconds() // 60)
    return {
        "passed": "passed",
        "stuck": f"stuck: {row.attempts} attempt(s) over {minutes} min",
        "attempted": f"{row.attempts} attempt(s)",
        "started": "opened, no check yet",
    }[state]


# ---------------------------------------------------------------- authoring
@instructor_required
def authoring(request, dirname):
    directory = _lesson_dir(dirname)
    data, error = None, None
    try:
        data = loader.read_lesson(directory)
    except loader.LessonError as exc:
        error = exc
    steps = []
    if data:
        for step in data.steps:
            steps.append(
                {
                    "step": step,
                    "body_html": render_markdown(step.body_md),
                    "events": [json.dumps(loader.resolve_event(e), indent=2)[:2000] for e in step.events],
                }
            )
    return render(
        request,
        "lessons/authoring.html",
        {
            "dirname": dirname,
            "data": data,
            "error": error,
            "steps": steps,
            "intro_html": render_markdown(data.intro_md) if data else "",
        },
    )


def _lesson_dir(dirname):
    directory = (loader.CONTENT_DIR / dirname).resolve()
    if directory.parent != loader.CONTENT_DIR.resolve() or not directory.is_dir():
        raise Http404("No such lesson directory")
    return directory


async def authoring_run(request, dirname):
    """Run each step's reference solution (and starter) through the sandbox, as check_lessons does."""
    allowed = await sync_to_async(lambda: is_instructor(request.user))()
    if not allowed or request.method != "POST":
        raise Http404("Instructors only")
    directory = _lesson_dir(dirname)
    try:
        data = await sync_to_async(loader.read_lesson)(directory)
    except loader.LessonError as exc:
        return HttpResponse(f'<p class="check check-fail">{exc}</p>')
    results = []
    for step in data.steps:
        for which in ("solution", "starter"):
            code = step.solution_code if which == "solution" else step.starter_code
            config = dict(step.function_config, **(step.solution_config if which == "solution" else {}))
            function = await sync_to_async(new_function)(
                request.user, f"preview-{dirname}-{step.number}-{which}", code, step.handler, config
            )
            outcome, _ = await run_step(function, step.events, step.run, step.checks)
            good = outcome.passed if which == "solution" else not outcome.passed
            results.append({"step": step, "which": which, "good": good, "summary": outcome.summary})
    return await sync_to_async(render)(
        request, "lessons/fragments/authoring_results.html", {"results": results}
    )


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


def _qr_svg(text, scale=8):
    qr = segno.make(text, error="m")
    # segno draws paths only: the text is encoded as modules, never written into the markup.
    return mark_safe(qr.svg_inline(scale=scale, dark="#111", light="#fff", border=2, omitsize=True))


@require_GET
def demo(request, slug):
    function = _demo_function(request, slug)
    url = request.build_absolute_uri(f"/fn/{function.slug}/")
    return render(request, "lessons/demo.html", {"function": function, "url": url, "qr": _qr_svg(url)})


@require_GET
def demo_metrics(request, slug):
    function = _demo_function(request, slug)
    # The projector shows the current burst, not ten mostly idle minutes: the window starts at
    # the first invocation of the last five minutes (or one minute ago).
    now = timezone.now()
    first = function.invocations.filter(created__gte=now - timedelta(minutes=5)).order_by("created").first()
    since = first.created - timedelta(seconds=1) if first else now - timedelta(minutes=1)
    return JsonResponse(function_metrics(function, since=since))
