"""Who is learning, what they have done, and what is unlocked."""

from django.utils import timezone

from .models import Membership, StepProgress
from .runner import new_function


def current_membership(user):
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user).order_by("-joined").first()


def progress_map(user, lesson):
    if not user.is_authenticated:
        return {}
    rows = StepProgress.objects.filter(user=user, step__lesson=lesson).select_related("step")
    return {row.step.number: row for row in rows}


def lesson_state(steps, progress):
    passed = sum(1 for s in steps if progress.get(s.number) and progress[s.number].passed)
    if steps and passed == len(steps):
        return "done", passed
    if progress:
        return "in-progress", passed
    return "new", passed


def is_unlocked(step, progress):
    return step.number == 1 or bool(progress.get(step.number - 1) and progress[step.number - 1].passed)


def first_open_step(steps, progress):
    for step in steps:
        row = progress.get(step.number)
        if not (row and row.passed):
            return step
    return steps[-1] if steps else None


def progress_for(user, step):
    """The learner's progress row for the step, with their own Function made from the starter."""
    row = StepProgress.objects.filter(user=user, step=step).select_related("function").first()
    membership = current_membership(user)
    if row is None:
        row = StepProgress.objects.create(user=user, step=step, membership=membership, started=timezone.now())
    if row.function is None:
        row.function = new_function(
            user,
            f"{step.lesson.slug}-step-{step.number}",
            step.starter_code,
            step.handler,
            step.function_config,
        )
        row.save(update_fields=["function"])
    return row
