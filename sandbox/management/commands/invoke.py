"""python manage.py invoke HANDLER_FILE: run a handler file in one sandboxed environment."""

import asyncio
import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.engine.invocation import FunctionRunner, InvalidEvent, PayloadTooLarge, event_text
from sandbox.engine.outcomes import FunctionSpec
from sandbox.worker.config import get_engine


class UsageError(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Run HANDLER_FILE in one execution environment, N times in a row (first cold, then "
        "warm), printing the log lines as they happen. Exit 0 when every invocation succeeded, "
        "1 when any failed, 2 for bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("handler_file")
        parser.add_argument("--handler", default="handler", help="function name (default handler)")
        parser.add_argument("--event", help="event JSON file, or - for standard input")
        low_mb, high_mb = settings.SANDBOX["MEMORY_MB_MIN"], settings.SANDBOX["MEMORY_MB_MAX"]
        low_s, high_s = settings.SANDBOX["TIMEOUT_S_MIN"], settings.SANDBOX["TIMEOUT_S_MAX"]
        parser.add_argument("--memory", type=int, default=low_mb, help=f"memory in MB ({low_mb}-{high_mb})")
        parser.add_argument("--timeout", type=float, default=3, help=f"timeout in seconds ({low_s}-{high_s})")
        parser.add_argument("--repeat", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="one JSON object per invocation")

    def handle(self, *args, **options):
        try:
            spec, event = self._read_inputs(options)
        except UsageError as exc:
            sys.stderr.write(f"invoke: {exc}\n")
            sys.exit(2)
        failed = asyncio.run(self._run(spec, event, options))
        sys.exit(1 if failed else 0)

    def _read_inputs(self, options):
        path = Path(options["handler_file"])
        if not path.is_file():
            raise UsageError(f"no such handler file: {path}")
        if path.suffix != ".py" or not path.stem.isidentifier():
            raise UsageError(f"{path}: the handler file must be a Python module name ending in .py")
        low_mb, high_mb = settings.SANDBOX["MEMORY_MB_MIN"], settings.SANDBOX["MEMORY_MB_MAX"]
        low_s, high_s = settings.SANDBOX["TIMEOUT_S_MIN"], settings.SANDBOX["TIMEOUT_S_MAX"]
        if not low_mb <= options["memory"] <= high_mb:
            raise UsageError(f"--memory {options['memory']}: expected {low_mb} to {high_mb} MB")
        if not low_s <= options["timeout"] <= high_s:
            raise UsageError(f"--timeout {options['timeout']}: expected {low_s} to {high_s} seconds")
        if options["repeat"] < 1:
            raise UsageError("--repeat must be at least 1")
        if not options["handler"].isidentifier():
            raise UsageError(f"--handler {options['handler']!r} is not a Python name")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
        event = {}
        if options["event"]:
            try:
                raw = sys.stdin.read() if options["event"] == "-" else Path(options["event"]).read_text()
            except OSError as exc:
                raise UsageError(f"cannot read event file {options['event']}: {exc.strerror}") from None
            try:
                event = event_text(raw, settings.SANDBOX["PAYLOAD_BYTES"])
            except (InvalidEvent, PayloadTooLarge) as exc:
                raise UsageError(f"{options['event']}: {exc}") from None
            event = json.loads(event)
        spec = FunctionSpec(
            name=path.stem,
            handler=f"{path.stem}.{options['handler']}",
            files={path.name: source},
            memory_mb=options["memory"],
            timeout_s=options["timeout"],
        )
        return spec, event

    async def _run(self, spec, event, options):
        try:
            runner = FunctionRunner(get_engine(), spec)
        except Exception as exc:  # e.g. SANDBOX_REQUIRE not met
            raise CommandError(str(exc)) from exc
        failed = False
        as_json = options["json"]

        def print_line(line):
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

        try:
            for _ in range(options["repeat"]):
                record = await runner.invoke(event, on_log=None if as_json else print_line)
                if as_json:
                    print_line(json.dumps(record.as_json()))
                elif record.status == "ok":
                    sys.stderr.write(f"Response: {json.dumps(record.result)}\n")
                else:
                    sys.stderr.write(f"Error ({record.status}): {json.dumps(record.error)}\n")
                failed |= record.status != "ok"
        finally:
            runner.close()
        return failed
