"""Authoring preview: an instructor runs a lesson directory's solutions and starters."""

import json

from asgiref.sync import sync_to_async
from django.http import Http404, HttpResponse
from django.shortcuts import render

from lessons import loader
from lessons.management.commands.check_lessons import run_candidate
from lessons.permissions import instructor_required, is_instructor
from lessons.rendering import render_markdown
from lessons.verify import candidates


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
    """Run each step's reference solution, starter and cheats through the sandbox, as
    check_lessons does, plus trivial cheats made from the lesson text: any that passes is
    reported, so the author can make the check judge the work."""
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
        for candidate in candidates(step, generated=True):
            outcome = await run_candidate(request.user, f"preview-{dirname}-{step.number}", step, candidate)
            good = outcome.judged and outcome.passed == candidate.expect_pass
            results.append({"step": step, "which": candidate.label, "good": good, "summary": outcome.summary})
    return await sync_to_async(render)(
        request, "lessons/fragments/authoring_results.html", {"results": results}
    )
