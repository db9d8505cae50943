"""The learner's pages: the lesson list, a step with its playground, Check, and joining a classroom."""

import json

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from lessons.events import fill
from lessons.loader import resolve_event
from lessons.models import Classroom, Lesson, Membership, Step, StepProgress
from lessons.permissions import is_instructor
from lessons.predictions import describe, measure
from lessons.progress import (
    current_membership,
    first_open_step,
    is_unlocked,
    lesson_state,
    progress_for,
    progress_map,
)
from lessons.rendering import render_markdown
from lessons.runner import LESSON_ALIAS, apply_provisioned, config_fields, run_step
from sandbox import versions
from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.web.fields import ConfigError, int_field
from sandbox.web.forms import apply_concurrency, apply_config
from sandbox.web.learners import TooManyGuests, ensure_learner, too_many_guests_response
from sandbox.worker import configure_function, start_invocation, validate_event, wait_until_finished


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
    # A page view never makes a user: a visitor reads the step and edits a draft of the starter;
    # their first Invoke or Check makes the guest learner (begin_step, check_step).
    row = None
    if request.user.is_authenticated:
        row = progress_for(request.user, step)
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
        "function": row.function if row else None,
        "nav": nav,
        "next_step": next_step,
        "intro_html": render_markdown(lesson.intro_md) if step.number == 1 else "",
        "body_html": render_markdown(step.body_md),
        "concurrency_box": "reserved_concurrency" in step.solution_config
        or "provisioned_concurrency" in step.solution_config
        or "reserved_concurrency" in config,
        "membership": current_membership(request.user),
        "lesson_done": all(nav_item["passed"] for nav_item in nav),
        "hint": step.hint_after(_failures(row)) if row else "",
        "more_hints": bool(row) and _failures(row) < len(step.hints),
        **(_concurrency_context(row.function, step) if row else {}),
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


def _open_step(request, slug, number):
    """A step the visitor may open (the first, or one whose previous step passed), or 404."""
    step = get_object_or_404(Step, lesson__slug=slug, lesson__active=True, number=number)
    if not is_unlocked(step, progress_map(request.user, step.lesson)):
        raise Http404("This step is locked")
    return step


def _begin_progress(request, slug, number):
    """The learner's progress row for the step, making the guest learner if there is none yet
    (TooManyGuests past the limit). For the POSTs that need a learner: Invoke and Check."""
    step = _open_step(request, slug, number)
    user = ensure_learner(request)
    return step, progress_for(user, step)


CODE_FIELDS = ("code", "handler", "memory_mb", "timeout_s")


@xframe_options_sameorigin
@require_GET
def embedded_playground(request, slug, number):
    """The learner's own playground for this step, framed beside the lesson text; for a visitor
    not signed in, a draft of the starter whose Invoke begins the step (nothing is saved before)."""
    from sandbox.engine.rules import events
    from sandbox.web.page_context import playground_context

    if not request.user.is_authenticated:
        step = _open_step(request, slug, number)
        example = fill(resolve_event(step.events[0])) if step.events else events.TEMPLATES["custom"][1]()
        event_json = json.dumps(example, indent=2)
        context = {"step": step, "lesson": step.lesson, "event_json": event_json}
        return render(request, "lessons/draft_playground.html", context)
    step, row = _own_progress(request, slug, number)
    context = playground_context(request, row.function)
    if step.events:
        # The step's own example event, so Invoke sends what the lesson text talks about.
        context["event_json"] = json.dumps(fill(resolve_event(step.events[0])), indent=2)
    return render(request, "sandbox/function.html", context)


async def begin_step(request, slug, number):
    """A visitor's first Invoke (or Save) from the draft playground: make the guest learner and
    their function from the starter, save the draft into it, invoke once (unless saving only),
    show the step."""
    if request.method != "POST":
        return redirect("lessons:step", slug=slug, number=number)
    try:
        step, row = await sync_to_async(_begin_progress)(request, slug, number)
    except TooManyGuests as exc:
        return await sync_to_async(too_many_guests_response)(request, exc)
    fields = {k: request.POST[k] for k in CODE_FIELDS if k in request.POST}
    try:
        function = await sync_to_async(apply_config)(row.function, fields)
        event_json = validate_event(request.POST.get("event") or "{}")
    except (ConfigError, InvalidEvent, PayloadTooLarge) as exc:
        await sync_to_async(messages.error)(request, f"Not invoked: {exc}")
    else:
        if request.POST.get("action") != "save":
            await wait_until_finished(await start_invocation(function, event_json, "console"))
    return redirect("lessons:step", slug=slug, number=number)


async def check_step(request, slug, number):
    if request.method != "POST":
        return redirect("lessons:step", slug=slug, number=number)
    began = not (await request.auser()).is_authenticated
    if began:
        try:
            step, row = await sync_to_async(_begin_progress)(request, slug, number)
        except TooManyGuests as exc:
            return await sync_to_async(too_many_guests_response)(request, exc)
    else:
        step, row = await sync_to_async(_own_progress)(request, slug, number)
    function = row.function
    error = None
    fields = {k: request.POST[k] for k in CODE_FIELDS if k in request.POST}
    if fields:
        try:
            function = await sync_to_async(apply_config)(function, fields)
        except ConfigError as exc:
            error = str(exc)
    if step.predict and row.prediction is None:
        if began and request.headers.get("HX-Request"):
            return _reload_step(slug, number)  # a new guest: the page's CSRF token changed
        context = {"step": step, "lesson": step.lesson, "row": row, "ask_first": True}
        response = await sync_to_async(render)(request, "lessons/fragments/predict.html", context)
        response["HX-Retarget"] = "#predict-box"  # the answer goes to the prediction box
        response["HX-Reswap"] = "outerHTML"
        return response
    outcome = invocations = None
    if error is None:
        outcome, invocations = await run_step(
            function, step.events, step.run, step.checks, step.hidden_events, step.buckets
        )
    row = await sync_to_async(_record)(row, outcome, error, step, invocations)
    failures = await sync_to_async(_failures)(row)
    context = {
        "step": step,
        "lesson": step.lesson,
        "row": row,
        "outcome": outcome,
        "error": error,
        "hint": step.hint_after(failures),
        "measure_label": describe(step.predict["measure"]) if step.predict else "",
        "more_hints": failures < len(step.hints),
        "next_step": await sync_to_async(lambda: step.lesson.steps.filter(number=step.number + 1).first())(),
    }
    if began and request.headers.get("HX-Request"):
        # Signing the guest in rotated the CSRF token the page holds: load the step afresh (it
        # shows this check's result from the progress row; "busy" is kept in no row: a message).
        if outcome is not None and not outcome.judged:
            await sync_to_async(messages.warning)(request, outcome.summary)
        return _reload_step(slug, number)
    if request.headers.get("HX-Request"):
        return await sync_to_async(render)(request, "lessons/fragments/check_result.html", context)
    return redirect("lessons:step", slug=slug, number=number)


def _reload_step(slug, number):
    response = HttpResponse(status=200)
    response["HX-Redirect"] = reverse("lessons:step", args=[slug, number])
    return response


def _failures(row):
    """How many Checks of this step failed for this learner (staged hints follow it)."""
    return 0 if row.passed_at else row.attempts


@require_POST
def step_predict(request, slug, number):
    """Record the learner's prediction, once, before their first Check of the step (a
    visitor's prediction begins the step, as their first Invoke would)."""
    began = not request.user.is_authenticated
    try:
        step, row = _begin_progress(request, slug, number) if began else _own_progress(request, slug, number)
    except TooManyGuests as exc:
        return too_many_guests_response(request, exc)
    if not step.predict:
        raise Http404("This step asks for no prediction")
    error = ""
    if row.prediction is None:
        try:
            value = int(request.POST.get("prediction", ""))
        except ValueError:
            error = "Enter a whole number."
        else:
            choices = step.predict.get("choices")
            if choices and value not in choices:
                error = "Pick one of the choices."
            elif not 0 <= value <= 1000:
                error = "Enter a number from 0 to 1000."
            else:
                row.prediction = value
                row.save(update_fields=["prediction"])
                if began and request.headers.get("HX-Request"):
                    return _reload_step(slug, number)
    context = {"step": step, "lesson": step.lesson, "row": row, "error": error}
    return render(request, "lessons/fragments/predict.html", context)


@require_POST
def step_hint(request, slug, number):
    """The whole hint, code included, when the learner asks for it."""
    step, _ = _own_progress(request, slug, number)
    hint = step.hints[-1] if step.hints else ""
    context = {"step": step, "lesson": step.lesson, "hint": hint, "last": True}
    return render(request, "lessons/fragments/hint.html", context)


def _record(row, outcome, error, step=None, invocations=None):
    now = timezone.now()
    judged = outcome is None or outcome.judged
    if judged and step is not None and step.predict and invocations and row.measured is None:
        row.measured = measure(step.predict["measure"], invocations)
    if judged:  # "the server is busy" is no attempt of the learner's, and no verdict to keep
        row.attempts += 1
        row.last_message = error or outcome.summary
    row.last_attempt = now
    row.membership = current_membership(row.user)
    if outcome is not None and outcome.passed and row.passed_at is None:
        row.passed_at = now
    row.save()
    return row


@require_POST
def step_concurrency(request, slug, number):
    """Reserved concurrency, and provisioned concurrency in one step: publish the code, point the
    alias `live` at it, provision it (AWS provisions versions and aliases, never $LATEST)."""
    step, row = _own_progress(request, slug, number)
    function = row.function
    status = 200
    try:
        with transaction.atomic():
            changed = apply_concurrency(function, request.POST)
            if "provisioned_concurrency" in request.POST:
                raw = request.POST.get("provisioned_concurrency") or "0"
                count = int_field({"p": raw}, "p", 0, versions.provisioned_limit(), "Provisioned concurrency")
                if count != versions.provisioned_of(function, LESSON_ALIAS):
                    apply_provisioned(function, count)
                    changed = True
        if changed:
            async_to_sync(configure_function)(function)
        note = "Saved." if changed else "Nothing changed."
        alias = function.aliases.filter(name=LESSON_ALIAS).first()
        if changed and alias is not None and versions.provisioned_of(function, LESSON_ALIAS):
            note = (
                f"Saved: your code is version {alias.function_version}, alias {LESSON_ALIAS} points at it, "
                "and its provisioned environment is initialising."
            )
    except ConfigError as exc:
        note, status = str(exc), 400
        function.refresh_from_db()
    except versions.VersionsError as exc:
        note, status = exc.message, 400
        function.refresh_from_db()
    context = _concurrency_context(function, step, note)
    return render(request, "lessons/fragments/concurrency.html", context, status=status)


def _concurrency_context(function, step, note=""):
    return {
        "function": function,
        "note": note,
        "step": step,
        "provisioned": versions.provisioned_of(function, LESSON_ALIAS),
        "alias": LESSON_ALIAS,
    }


@require_POST
def step_reset(request, slug, number):
    step, row = _own_progress(request, slug, number)
    function = row.function
    function.code = step.starter_code
    function.handler = step.handler
    for key, value in _config_fields(step.function_config).items():
        setattr(function, key, value)
    function.save()
    apply_provisioned(function, step.function_config.get("provisioned_concurrency", 0))
    messages.info(request, "Your code is back to the starter.")
    return redirect("lessons:step", slug=slug, number=number)


def _config_fields(config):
    fields = config_fields(config)
    fields.setdefault("reserved_concurrency", None)
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
            try:
                user = ensure_learner(request)
            except TooManyGuests as exc:
                return too_many_guests_response(request, exc)
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
