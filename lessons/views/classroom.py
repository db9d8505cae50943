"""The instructor's pages: login, classrooms, and the live dashboard."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import Count, Sum
from django.db.models.functions import TruncMinute
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from lessons import loader
from lessons.dashboard import minute_bars, progress_grid, stuck_count
from lessons.models import Classroom, Lesson, StepProgress
from lessons.permissions import instructor_required
from lessons.qr import qr_svg
from sandbox.models import Invocation
from sandbox.web.public_url import public_url


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
        "updated": now,
    }
