"""python manage.py sync_lessons: validate lessons/content and load it into the database."""

import sys

from django.core.management.base import BaseCommand

from lessons.loader import sync
from lessons.models import Lesson


class Command(BaseCommand):
    help = (
        "Validate every lesson directory under lessons/content and load the valid ones "
        "(idempotent). A broken lesson is reported as FILE:LINE: PROBLEM; the others still load. "
        "Exit 1 when any lesson was broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--root", help="the directory holding lesson directories (default lessons/content)"
        )

    def handle(self, *args, **options):
        lessons, changed, errors = sync(options.get("root"))
        slugs = {lesson.slug for lesson in lessons}
        if options.get("root") is None:
            # Lessons whose directory is gone (or broken) are hidden, never deleted: progress stays.
            broken = {_lesson_dir_name(e) for e in errors}
            Lesson.objects.exclude(slug__in=slugs | broken).update(active=False)
        for error in errors:
            sys.stderr.write(f"error: {error}\n")
        self.stdout.write(
            f"{len(lessons)} lesson(s) valid, {changed} changed, {len(errors)} broken"
            f"{'' if not errors else ' (see the errors above)'}.\n"
        )
        if errors:
            sys.exit(1)


def _lesson_dir_name(error):
    from lessons.loader import CONTENT_DIR

    try:
        return error.path.resolve().relative_to(CONTENT_DIR.resolve()).parts[0]
    except ValueError:
        return ""
