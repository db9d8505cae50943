"""The instructor's pages: login, classrooms, and the live dashboard."""

import csv
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import Count, Sum
from django.db.models.functions import TruncMinute
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from lessons import loader
from lessons.dashboard import minute_bars, prediction_counts, progress_grid, stuck_count
from lessons.models import Classroom, Lesson, StepProgress
from lessons.permissions import instructor_required
from lessons.qr import qr_svg
from sandbox.models import Function, Invocation
from sandbox.web import signin
from sandbox.web.public_url import public_url


# ---------------------------------------------------------------- instructors
class InstructorLogin(auth_views.LoginView):
    """Sign-in; a locked username or address (sandbox/web/signin.py) gets a 429 that says so."""

    template_name = "lessons/login.html"

    def get_default_redirect_url(self):
        return reverse("lessons:instructor")

    def post(self, request, *args, **kwargs):
        wait = signin.lock(request.POST.get("username", ""), request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        minutes = max(1, round(wait / 60))
        unit = "minute" if minutes == 1 else "minutes"
        context = self.get_context_data(
            form=self.get_form_class()(request),
            locked=f"Too many failed sign-ins. Try again in about {minutes} {unit}.",
        )
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


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
        {
            "classrooms": classrooms,
            "lesson_dirs": [p.name for p in loader.lesson_dirs()],
            "functions": Function.objects.filter(owner=request.user).order_by("-updated")[:20],
        },
    )


def _my_classroom(request, code):
    return get_object_or_404(Classroom, join_code=code, instructor=request.user)


@instructor_required
def dashboard(request, code):
    classroom = _my_classroom(request, code)
    join_url = public_url(request, reverse("lessons:join") + f"?code={classroom.join_code}")
    return render(
        request,
        "lessons/dashboard.html",
        {
            "classroom": classroom,
            "join_url": join_url,
            "qr": qr_svg(join_url, scale=4),
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
    """Load what the dashboard shows; the aggregation itself is lessons.dashboard's."""
    now = timezone.now()
    lessons = list(Lesson.objects.filter(active=True).prefetch_related("steps"))
    columns = [(lesson, list(lesson.steps.all())) for lesson in lessons]
    members = list(classroom.memberships.select_related("user"))
    users = [m.user_id for m in members]
    progress = {
        (row.user_id, row.step_id): row
        for row in StepProgress.objects.filter(user_id__in=users).select_related("step")
    }
    grid = progress_grid(members, columns, progress, now)
    since = now - timedelta(minutes=10)
    recent = Invocation.objects.filter(function__owner_id__in=users, created__gte=since)
    per_minute = {
        row["minute"]: row["n"]
        for row in recent.annotate(minute=TruncMinute("created")).values("minute").annotate(n=Count("id"))
    }
    bars = minute_bars(per_minute, now)
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
        "stuck": stuck_count(grid),
        "predictions": prediction_counts(grid),
        "updated": now,
    }


@instructor_required
@require_GET
def progress_csv(request, code):
    """The classroom's progress as CSV: one row per student and step, for a gradebook."""
    classroom = _my_classroom(request, code)
    now = timezone.now()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{classroom.join_code}-progress.csv"'
    writer = csv.writer(response)
    writer.writerow(["student", "lesson", "step", "step title", "state", "attempts", "passed at"])
    for member, lesson, step, row in progress_rows(classroom):
        state = row.state(now) if row else "none"
        writer.writerow(
            [
                csv_safe(member.display_name),
                lesson.slug,
                step.number,
                csv_safe(step.title),
                state,
                row.attempts if row else 0,
                row.passed_at.isoformat() if row and row.passed_at else "",
            ]
        )
    return response


def progress_rows(classroom):
    """(membership, lesson, step, StepProgress or None) for every member and step, in order."""
    lessons = list(Lesson.objects.filter(active=True).prefetch_related("steps"))
    members = list(classroom.memberships.select_related("user"))
    progress = {
        (row.user_id, row.step_id): row
        for row in StepProgress.objects.filter(user_id__in=[m.user_id for m in members])
    }
    return [
        (member, lesson, step, progress.get((member.user_id, step.pk)))
        for member in members
        for lesson in lessons
        for step in lesson.steps.all()
    ]


def csv_safe(text):
    """Display names are typed by students: a leading =, +, - or @ would be a formula in a
    spreadsheet (CSV injection), so such a cell is quoted with a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@instructor_required
@require_POST
def reset_progress(request, code):
    """Start the classroom over: its members' step progress is deleted (their functions stay)."""
    classroom = _my_classroom(request, code)
    users = classroom.memberships.values_list("user_id", flat=True)
    deleted, _ = StepProgress.objects.filter(user_id__in=list(users)).delete()
    messages.success(request, f"Progress reset: {deleted} step record(s) of {classroom.name} deleted.")
    return redirect("lessons:dashboard", code=classroom.join_code)
