"""Instructor tooling: the admin with limited permissions, the progress CSV, resetting a
classroom, and links to demo mode."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from lessons.loader import sync
from lessons.models import Classroom, Membership, Step, StepProgress
from sandbox.models import Function

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons():
    sync()


def logged_in(user):
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def teacher(name="teach"):
    call_command("create_instructor", name, "--password", "long-enough-pw")
    return User.objects.get(username=name)


def classroom_with_students(owner, names):
    room = Classroom.objects.create(name="Cloud 101", instructor=owner)
    step = Step.objects.get(lesson__slug="first-function", number=1)
    for name in names:
        user = User.objects.create_user(username=f"guest-{name}")
        member = Membership.objects.create(classroom=room, user=user, display_name=name)
        StepProgress.objects.create(
            user=user, membership=member, step=step, attempts=2, passed_at=timezone.now()
        )
    return room


def test_an_instructor_is_staff_with_only_the_lessons_permissions(lessons):
    user = teacher()
    assert user.is_staff and not user.is_superuser
    assert user.has_perm("lessons.view_lesson") and user.has_perm("lessons.add_classroom")
    assert not user.has_perm("lessons.change_lesson") and not user.has_perm("sandbox.view_function")
    client = logged_in(user)
    assert client.get("/admin/lessons/classroom/").status_code == 200
    assert client.get("/admin/sandbox/function/").status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


def test_the_admin_never_shows_a_reference_solution(lessons):
    client = logged_in(teacher())
    step = Step.objects.get(lesson__slug="first-function", number=1)
    page = client.get(f"/admin/lessons/step/{step.pk}/change/").content.decode()
    assert step.starter_code.splitlines()[0] in page or "starter_code" in page
    assert "solution_code" not in page


def test_an_instructor_sees_only_their_own_classrooms_in_the_admin(lessons):
    mine, theirs = teacher("a-teacher"), teacher("b-teacher")
    Classroom.objects.create(name="Mine", instructor=mine)
    Classroom.objects.create(name="Theirs", instructor=theirs)
    page = logged_in(mine).get("/admin/lessons/classroom/").content.decode()
    assert "Mine" in page and "Theirs" not in page


def test_the_progress_csv_has_a_row_per_student_and_step_and_defuses_formulas(lessons):
    owner = teacher()
    room = classroom_with_students(owner, ["Ada", "=HYPERLINK(1)"])
    response = logged_in(owner).get(f"/instructor/classrooms/{room.join_code}/progress.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["student", "lesson", "step", "step title", "state"]
    steps = Step.objects.filter(lesson__active=True).count()
    assert len(rows) == 1 + 2 * steps
    ada_first = next(r for r in rows if r[0] == "Ada" and r[1] == "first-function" and r[2] == "1")
    assert ada_first[4] == "passed" and ada_first[5] == "2"
    assert any(r[0] == "'=HYPERLINK(1)" for r in rows)


def test_another_instructor_cannot_download_or_reset_a_classroom(lessons):
    room = classroom_with_students(teacher("owner"), ["Ada"])
    stranger = logged_in(teacher("stranger"))
    assert stranger.get(f"/instructor/classrooms/{room.join_code}/progress.csv").status_code == 404
    assert stranger.post(f"/instructor/classrooms/{room.join_code}/reset").status_code == 404
    assert StepProgress.objects.count() == 1


def test_resetting_a_classroom_deletes_its_progress_but_keeps_other_classes_and_functions(lessons):
    owner = teacher()
    room = classroom_with_students(owner, ["Ada", "Bob"])
    other = classroom_with_students(teacher("other"), ["Cy"])
    Function.objects.create(owner=User.objects.get(username="guest-Ada"), name="kept")
    client = logged_in(owner)
    assert client.get(f"/instructor/classrooms/{room.join_code}/reset").status_code == 405
    response = client.post(f"/instructor/classrooms/{room.join_code}/reset")
    assert response.status_code == 302
    assert not StepProgress.objects.filter(membership__classroom=room).exists()
    assert StepProgress.objects.filter(membership__classroom=other).count() == 1
    assert Function.objects.filter(name="kept").exists()


def test_demo_mode_is_linked_from_the_function_page_and_the_instructor_page(lessons):
    owner = teacher()
    function = Function.objects.create(owner=owner, name="demo-me")
    client = logged_in(owner)
    assert f"/demo/{function.slug}/" in client.get(function.get_absolute_url()).content.decode()
    assert f"/demo/{function.slug}/" in client.get("/instructor/").content.decode()
