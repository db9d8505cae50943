"""Reading lesson directories: valid lessons load; each broken file names file, line, problem."""

import shutil
from pathlib import Path

import pytest

from lessons import loader
from lessons.models import Lesson, Step
from lessons.rendering import render_markdown

FIXTURE = Path(__file__).resolve().parent / "lessons_fixtures" / "wrong_solution" / "wrong-solution"


@pytest.fixture
def root(tmp_path):
    for name in ("good", "broken"):
        shutil.copytree(FIXTURE, tmp_path / name)
    return tmp_path


def errors_for(root):
    _, errors = loader.read_all(root)
    assert len(errors) == 1
    error = errors[0]
    return error.path.relative_to(root).as_posix(), error.line, error.problem


def test_every_shipped_lesson_reads_without_error_in_the_required_order():
    lessons, errors = loader.read_all()
    assert errors == []
    by_order = sorted(lessons, key=lambda lesson: lesson.order)
    assert [lesson.order for lesson in by_order] == list(range(1, 13))
    assert [lesson.slug for lesson in by_order] == [
        "first-function",
        "events-and-triggers",
        "cold-starts",
        "scaling",
        "provisioned-concurrency",
        "billing",
        "limits",
        "errors-and-retries",
        "configuration-and-deployment",
        "permissions",
        "observability",
        "dependencies-and-layers",
    ]
    for lesson in lessons:
        assert 10 <= lesson.minutes <= 25  # each fits a half-hour slot of a class
        assert lesson.steps


def test_a_missing_front_matter_key_is_reported_with_its_file(root):
    md = root / "broken" / "lesson.md"
    md.write_text(md.read_text().replace("minutes: 10\n", ""))
    assert errors_for(root) == ("broken/lesson.md", 2, "front matter is missing 'minutes'")


def test_invalid_yaml_in_the_front_matter_names_the_line(root):
    md = root / "broken" / "lesson.md"
    md.write_text(md.read_text().replace("summary: Fixture for check_lessons.", "summary: a: b: c"))
    path, line, problem = errors_for(root)
    assert (path, line) == ("broken/lesson.md", 4)
    assert problem.startswith("invalid YAML")


def test_a_python_syntax_error_in_a_starter_names_the_file_and_line(root):
    (root / "broken" / "steps" / "1" / "starter.py").write_text(
        "def handler(event, context):\n    return {\n"
    )
    path, line, problem = errors_for(root)
    assert path == "broken/steps/1/starter.py"
    assert line == 2
    assert problem.startswith("Python syntax error")


def test_an_unknown_check_kind_names_the_check_and_its_line(root):
    step = root / "broken" / "steps" / "1" / "step.yaml"
    step.write_text("event: {name: Ada}\ncheck:\n  - status_code: 200\n  - body_has: Ada\n")
    path, line, problem = errors_for(root)
    assert (path, line) == ("broken/steps/1/step.yaml", 4)
    assert problem.startswith("check 2: unknown check 'body_has'")


def test_a_bad_function_setting_names_its_line(root):
    step = root / "broken" / "steps" / "1" / "step.yaml"
    step.write_text("function:\n  memory: 64\ncheck:\n  - status_code: 200\n")
    assert errors_for(root) == (
        "broken/steps/1/step.yaml",
        2,
        "'memory' must be a whole number from 128 to 10240",
    )


def test_an_event_file_with_bad_json_names_the_event_file_and_line(root):
    step_dir = root / "broken" / "steps" / "1"
    (step_dir / "event.json").write_text('{\n  "name": "Ada",\n  oops\n}\n')
    (step_dir / "step.yaml").write_text("event: event.json\ncheck:\n  - status_code: 200\n")
    path, line, problem = errors_for(root)
    assert (path, line) == ("broken/steps/1/event.json", 3)
    assert problem.startswith("invalid JSON")


def test_a_step_heading_without_its_directory_is_reported(root):
    md = root / "broken" / "lesson.md"
    md.write_text(md.read_text() + "\n## Step 2: Missing\n\nText.\n")
    path, line, problem = errors_for(root)
    assert path == "broken/lesson.md"
    assert problem == "Step 2 has no directory steps/2/"
    assert md.read_text().splitlines()[line - 1] == "## Step 2: Missing"


@pytest.mark.django_db
def test_a_broken_lesson_does_not_stop_the_others_from_loading(root):
    (root / "broken" / "steps" / "1" / "solution.py").write_text("def handler(:\n")
    lessons, changed, errors = loader.sync(root)
    assert [lesson.slug for lesson in lessons] == ["good"]
    assert len(errors) == 1 and "broken/steps/1/solution.py:1: Python syntax error" in str(errors[0])
    assert Lesson.objects.filter(slug="good").exists()
    assert not Lesson.objects.filter(slug="broken").exists()


@pytest.mark.django_db
def test_sync_is_idempotent_and_picks_up_edits(root):
    _, changed, _ = loader.sync(root)
    assert changed == 2
    _, changed, _ = loader.sync(root)
    assert changed == 0
    assert Step.objects.count() == 2
    hint = root / "good" / "steps" / "1" / "step.yaml"
    hint.write_text(hint.read_text().replace("Use event['name'].", "Read event['name']."))
    _, changed, _ = loader.sync(root)
    assert changed == 1
    assert Step.objects.get(lesson__slug="good").hints == ["Read event['name']."]


def test_lesson_markdown_is_sanitised_no_script_reaches_the_page():
    html = render_markdown(
        "Hi <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))\n\n"
        '<a href="https://example.org" onclick="alert(4)">ok</a>'
    )
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "onclick" not in html and "<img" not in html
    assert 'href="https://example.org"' in html
