"""Who may see what: students, their code, instructors and their classrooms."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from lessons.loader import sync
from lessons.models import Classroom, Membership, StepProgress
from lessons.permissions import INSTRUCTORS

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons():
    sync()


def instructor(name):
    user = User.objects.create_user(username=name, password="pw-123456")
    user.groups.add(Group.objects.get_or_create(name=INSTRUCTORS)[0])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return user, client


def student_on_step_one(name=None, code=None):
    """A visitor who joins (with a code) or saves the step's draft: either makes their guest."""
    client = Client(HTTP_HOST="localhost")
    if code:
        client.post("/lessons/join", {"code": code, "display_name": name})
    else:
        client.post("/lessons/first-function/1/begin", {"action": "save"})
    response = client.get("/lessons/first-function/1/")
    assert response.status_code == 200
    return client, StepProgress.objects.filter(user_id=client.session["_auth_user_id"]).get()


def test_a_student_starts_a_lesson_without_signing_up_and_gets_a_function_from_the_starter(lessons):
    client, progress = student_on_step_one()
    assert progress.function.code == progress.step.starter_code
    assert progress.user.username.startswith("guest-")
    listing = client.get("/lessons/").content.decode()
    assert "In progress · 0/3" in listing


def test_the_next_step_stays_locked_until_the_check_passes(lessons):
    client, _ = student_on_step_one()
    response = client.get("/lessons/first-function/2/")
    assert response.status_code == 302 and response["Location"] == "/lessons/first-function/"


def test_a_student_cannot_see_the_instructor_dashboard(lessons):
    teacher, _ = instructor("teach")
    room = Classroom.objects.create(name="Cloud 101", instructor=teacher)
    client, _ = student_on_step_one("Ada", room.join_code)
    for url in (
        f"/instructor/classrooms/{room.join_code}/",
        f"/instructor/classrooms/{room.join_code}/grid",
        "/instructor/",
        "/instructor/authoring/first-function/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/instructor/login"), url


def test_a_student_cannot_see_another_students_code(lessons):
    ada, ada_progress = student_on_step_one()
    bob, _ = student_on_step_one()
    slug = ada_progress.function.slug
    assert bob.get(f"/functions/{slug}/").status_code == 404
    assert bob.get(f"/demo/{slug}/").status_code == 404
    assert bob.get(f"/demo/{slug}/metrics.json").status_code == 404
    assert ada.get(f"/demo/{slug}/").status_code == 200
    # Bob's own embedded playground shows Bob's function, never Ada's.
    page = bob.get("/lessons/first-function/1/playground").content.decode()
    assert slug not in page


def test_an_instructor_sees_only_their_own_classrooms(lessons):
    alice, alice_client = instructor("alice")
    carol, carol_client = instructor("carol")
    mine = Classroom.objects.create(name="Alice's class", instructor=alice)
    theirs = Classroom.objects.create(name="Carol's class", instructor=carol)
    _, progress = student_on_step_one("Ada", theirs.join_code)
    assert alice_client.get(f"/instructor/classrooms/{mine.join_code}/").status_code == 200
    assert alice_client.get(f"/instructor/classrooms/{theirs.join_code}/").status_code == 404
    assert alice_client.get(f"/instructor/classrooms/{theirs.join_code}/grid").status_code == 404
    assert "Carol's class" not in alice_client.get("/instructor/").content.decode()
    # Demo mode of a student's function: only for that student's instructor.
    assert alice_client.get(f"/demo/{progress.function.slug}/").status_code == 404
    assert carol_client.get(f"/demo/{progress.function.slug}/").status_code == 200


def test_joining_a_classroom_moves_progress_to_the_membership_and_the_dashboard_shows_it(lessons):
    teacher, teacher_client = instructor("teach")
    room = Classroom.objects.create(name="Cloud 101", instructor=teacher)
    client, progress = student_on_step_one()
    client.post("/lessons/join", {"code": room.join_code.lower(), "display_name": "Ada L."})
    progress.refresh_from_db()
    assert progress.membership == Membership.objects.get(classroom=room, display_name="Ada L.")
    grid = teacher_client.get(f"/instructor/classrooms/{room.join_code}/grid").content.decode()
    assert "Ada L." in grid and "cell-started" in grid


def test_a_wrong_join_code_gets_a_kind_message(lessons):
    client = Client(HTTP_HOST="localhost")
    page = client.post("/lessons/join", {"code": "NOPE42", "display_name": "Ada"}).content.decode()
    assert "No classroom has that join code" in page


def test_create_instructor_makes_a_user_in_the_instructors_group():
    from django.core.management import call_command

    call_command("create_instructor", "dana", password="long-enough-pw")
    user = User.objects.get(username="dana")
    assert user.groups.filter(name=INSTRUCTORS).exists() and user.check_password("long-enough-pw")


def test_the_reference_solution_never_reaches_a_students_page(lessons):
    client, progress = student_on_step_one()
    solution_line = 'print("Greeting", name)'
    assert solution_line in progress.step.solution_code
    for url in ("/lessons/first-function/1/", "/lessons/first-function/1/playground"):
        assert solution_line not in client.get(url).content.decode()


def test_a_student_stuck_for_over_five_minutes_shows_as_stuck_and_names_are_escaped(lessons):
    from datetime import timedelta

    from django.utils import timezone

    teacher, teacher_client = instructor("teach")
    room = Classroom.objects.create(name="Cloud 101", instructor=teacher)
    _, progress = student_on_step_one("<script>alert(1)</script>", room.join_code)
    StepProgress.objects.filter(pk=progress.pk).update(
        attempts=4, started=timezone.now() - timedelta(minutes=6)
    )
    grid = teacher_client.get(f"/instructor/classrooms/{room.join_code}/grid").content.decode()
    assert "cell-stuck" in grid and "stuck: 4 attempt(s) over 6 min" in grid
    assert "<script>alert(1)</script>" not in grid and "&lt;script&gt;" in grid
