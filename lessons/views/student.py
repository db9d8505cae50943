"""The learner's pages: the lesson list, a step with its playground, Check, and joining a classroom."""

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from lessons.models import Classroom, Lesson, Membership, Step, StepProgress
from lessons.permissions import is_instructor
from lessons.progress import (
    current_membership,
    first_open_step,
    is_unlocked,
    lesson_state,
    progress_for,
    progress_map,
)
from lessons.rendering import render_markdown
from lessons.runner import run_step
from sandbox.web.fields import ConfigError
from sandbox.web.forms import apply_concurrency, apply_config
from sandbox.web.learners import ensure_learner
from sandbox.worker import configure_function


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
    from sandbox.web.page_context import playground_context

    step, row = _own_progress(request, slug, number)
    return render(request, "sandbox/function.html", playground_context(request, row.function))


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
    status = 200
    try:
        changed = apply_concurrency(row.function, request.POST)
        if changed:
            from asgiref.sync import async_to_sync

            async_to_sync(configure_function)(row.function)
        note = "Saved." if changed else "Nothing changed."
    except ConfigError as exc:
        note, status = str(exc), 400
        row.function.refresh_from_db()
    return render(
        request,
        "lessons/fragments/concurrency.html",
        {"function": row.function, "note": note, "step": step},
        status=status,
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
