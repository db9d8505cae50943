"""python manage.py check_lessons: every step's reference solution must pass its check on the
real sandbox, and every starter and every cheat in steps/N/cheats/ must fail it (so the step
asks for something, and copying what the lesson text shows is not enough)."""

import asyncio
import secrets
import sys
import time

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from lessons.loader import LessonError, lesson_dirs, read_lesson
from lessons.verify import candidates, run_candidate

PARALLEL = 3


class Command(BaseCommand):
    help = (
        "Run each step's solution (expecting a pass) and starter (expecting a failure) through the "
        "sandbox. Exit 1 when any lesson is broken or any expectation fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="lesson directories (default: all of lessons/content)")
        parser.add_argument("--root", help="a directory of lesson directories")
        parser.add_argument(
            "--generated",
            action="store_true",
            help="also run trivial cheats made from the lesson text (as the authoring preview does)",
        )

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("sync_layers", verbosity=0)  # the bundled layers some steps attach
        if options["paths"]:
            from pathlib import Path

            dirs = [Path(p) for p in options["paths"]]
        else:
            dirs = lesson_dirs(options.get("root"))
        lessons, problems = [], []
        for directory in dirs:
            try:
                lessons.append(read_lesson(directory))
            except LessonError as exc:
                problems.append(f"error: {exc}")
        started = time.monotonic()
        results = asyncio.run(check_all(lessons, options["generated"]))
        for line in problems:
            sys.stderr.write(line + "\n")
        failed = len(problems)
        for ok, line in results:
            (self.stdout if ok else sys.stderr).write(("ok    " if ok else "FAIL  ") + line + "\n")
            failed += not ok
        self.stdout.write(
            f"{len(results)} run(s) over {len(lessons)} lesson(s) in {time.monotonic() - started:.1f} s; "
            f"{failed} problem(s).\n"
        )
        if failed:
            sys.exit(1)


async def check_all(lessons, generated=False):
    from sandbox import worker

    semaphore = asyncio.Semaphore(PARALLEL)
    # A learner per lesson, as a class works: one learner's invocations per minute would
    # throttle the runs of every lesson together (with --generated, hundreds of runs).
    owners = {lesson.slug: await sync_to_async(_owner)() for lesson in lessons}

    async def one(lesson, step, candidate):
        async with semaphore:
            return await check_step(owners[lesson.slug], lesson, step, candidate)

    try:
        steps = [(lesson, step) for lesson in lessons for step in lesson.steps]
        runs = [(lesson, step, c) for lesson, step in steps for c in candidates(step, generated)]
        # Steps that measure speed or cost run alone afterwards: on a small host, parallel
        # runs would steal each other's CPU and turn a correct solution into a slow one.
        timed = [r for r in runs if _timing_sensitive(r[1])]
        results = await asyncio.gather(*[one(*r) for r in runs if r not in timed])
        for lesson, step, candidate in timed:
            # Speed and cost are measured, so a host busy with other work can slow a correct
            # solution down: it gets three tries. A starter must fail every time it runs.
            tries = 3 if candidate.expect_pass else 1
            attempt, ok = 0, False
            while not ok and attempt < tries:
                attempt += 1
                ok, line = await check_step(owners[lesson.slug], lesson, step, candidate)
            if ok and attempt > 1:
                line += f" (on attempt {attempt}: the host was busy)"
            results.append((ok, line))
        return results
    finally:
        worker.close_pools()
        await worker.settle(timeout=10)
        for owner in owners.values():
            await sync_to_async(owner.delete)()


def _timing_sensitive(step):
    timed = ("duration_under", "gb_seconds_under", "init_duration_under")
    return any(kind in check for check in step.checks for kind in timed)


def _owner():
    return get_user_model().objects.create_user(username=f"check-lessons-{secrets.token_hex(4)}")


async def check_step(owner, lesson, step, candidate):
    label = f"{lesson.slug} step {step.number} {candidate.label}"
    outcome = await run_candidate(owner, f"{lesson.slug}-{step.number}", step, candidate)
    if not outcome.judged:  # neither a pass nor a fail: the server got in the way
        return False, f"{label}: could not be judged ({outcome.summary})"
    if candidate.expect_pass:
        return outcome.passed, label + ("" if outcome.passed else f": {outcome.summary}")
    return (not outcome.passed), label + (
        f" fails as it should: {outcome.summary.splitlines()[-1]}"
        if not outcome.passed
        else ": passes the check, which should fail it (the check looks at shapes, not the work)"
    )
