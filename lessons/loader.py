"""Reading lesson directories: lessons/content/<slug>/lesson.md + steps/<n>/ files.

Every problem is a LessonError naming the file, the line and the problem, so an author can fix
it without reading this code. One broken lesson never stops the others from loading.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox.engine.rules import events as event_builders
from sandbox.engine.rules import logconfig

from .checks import CHECK_KINDS, CheckSpecError, validate_check
from .predictions import MEASURES

CONTENT_DIR = Path(settings.BASE_DIR) / "lessons" / "content"
FRONT_KEYS = {"title": str, "order": int, "summary": str, "concepts": list, "minutes": int}
STEP_HEADING = re.compile(r"^## Step (\d+): (.+?)\s*$")
FUNCTION_KEYS = {
    "memory": (settings.SANDBOX["MEMORY_MB_MIN"], settings.SANDBOX["MEMORY_MB_MAX"]),
    "timeout": (settings.SANDBOX["TIMEOUT_S_MIN"], settings.SANDBOX["TIMEOUT_S_MAX"]),
    "reserved_concurrency": (0, 1000),
    "provisioned_concurrency": (0, 10),
}
RUN_KEYS = {"times": (1, 60), "concurrent": (1, 10)}  # many times: a canary's share is counted
EVENT_TEMPLATES = {
    "http": event_builders.http_api_v2,
    "s3_put": lambda bucket="uploads", key="photos/cat.jpg", body="hello": event_builders.s3_put(
        bucket, key, body.encode() if isinstance(body, str) else body
    ),
    "sqs_batch": event_builders.sqs_batch,
    "schedule": lambda rule="every-5-minutes", time=None: event_builders.schedule(rule, _utc_time(time)),
}


def _utc_time(text):
    """A fixed tick time for a schedule event ("2026-03-14T02:00:00Z"), or None for now."""
    return None if text is None else datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
TEMPLATE_KEY = "$template"
STEP_YAML_KEYS = {
    "function", "solution_function", "event", "events", "hidden_events", "run", "check", "hint", "hints",
    "handler", "predict", "buckets",
}  # fmt: skip
BUCKET_SUFFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
HINT_STAGES = 3  # a nudge, the concept, then the code


class LessonError(Exception):
    def __init__(self, path, line, problem):
        self.path, self.line, self.problem = Path(path), line, problem
        super().__init__(str(self))

    def __str__(self):
        try:
            shown = self.path.relative_to(settings.BASE_DIR)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line or 1}: {self.problem}"


@dataclass
class StepData:
    number: int
    title: str
    body_md: str
    starter_code: str
    solution_code: str
    handler: str = "handler"
    function_config: dict = field(default_factory=dict)
    solution_config: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    run: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    hints: list = field(default_factory=list)  # a nudge, the concept, the code (staged)
    hidden_events: list = field(default_factory=list)  # sent by Check, never shown
    cheats: dict = field(default_factory=dict)  # {file name: code} that must fail the check
    predict: dict = field(default_factory=dict)  # {question, measure, choices?, explain?}
    buckets: list = field(default_factory=list)  # [{name, objects, granted}] the check sets up


@dataclass
class LessonData:
    slug: str
    path: Path
    title: str
    order: int
    summary: str
    concepts: list
    minutes: int
    intro_md: str
    steps: list


# ---------------------------------------------------------------- YAML with line numbers
def _lines_of(node, prefix=(), out=None):
    """{key path: line (1-based)} for every mapping key and sequence item under `node`."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            out[path] = key_node.start_mark.line + 1
            _lines_of(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            out[path] = item.start_mark.line + 1
            _lines_of(item, path, out)
    return out


def parse_yaml(text, path, line_offset=0):
    """(data, lines) where lines maps key paths to file line numbers."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + line_offset if mark else line_offset + 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise LessonError(path, line, f"invalid YAML: {problem}") from None
    lines = {k: v + line_offset for k, v in _lines_of(node).items()} if node is not None else {}
    return data, lines


def _line(lines, *keys, default=1):
    for n in range(len(keys), 0, -1):
        if keys[:n] in lines:
            return lines[keys[:n]]
    return default


# ---------------------------------------------------------------- lesson.md
def split_front_matter(text, path):
    if not text.startswith("---\n"):
        raise LessonError(path, 1, "lesson.md must start with a '---' line opening the YAML front matter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise LessonError(path, 1, "the front matter is never closed: add a '---' line after it")
    front = text[4 : end + 1]
    body = text[end + 5 :]
    body_first_line = front.count("\n") + 3
    return front, body, body_first_line


def read_lesson(directory):
    """LessonData for one lesson directory, or LessonError."""
    directory = Path(directory)
    md_path = directory / "lesson.md"
    if not md_path.is_file():
        raise LessonError(md_path, 1, "missing lesson.md")
    text = _read_text(md_path)
    front_text, body, body_line = split_front_matter(text, md_path)
    front, lines = parse_yaml(front_text, md_path, line_offset=1)
    if not isinstance(front, dict):
        raise LessonError(md_path, 2, "the front matter must be a YAML mapping (title: ..., order: ...)")
    for key, kind in FRONT_KEYS.items():
        if key not in front:
            raise LessonError(md_path, 2, f"front matter is missing '{key}'")
        if not isinstance(front[key], kind) or (kind is int and isinstance(front[key], bool)):
            raise LessonError(
                md_path, _line(lines, key), f"'{key}' must be {'a number' if kind is int else kind.__name__}"
            )
    unknown = set(front) - set(FRONT_KEYS)
    if unknown:
        key = sorted(unknown)[0]
        raise LessonError(md_path, _line(lines, key), f"unknown front matter key '{key}'")
    if not 5 <= front["minutes"] <= 60:
        raise LessonError(md_path, _line(lines, "minutes"), "'minutes' should be between 5 and 60")

    intro, sections = _split_steps(body, body_line, md_path)
    steps_dir = directory / "steps"
    found = sorted(p.name for p in steps_dir.iterdir() if p.is_dir()) if steps_dir.is_dir() else []
    steps = []
    for number, title, step_md, heading_line in sections:
        step_dir = steps_dir / str(number)
        if not step_dir.is_dir():
            raise LessonError(md_path, heading_line, f"Step {number} has no directory steps/{number}/")
        steps.append(read_step(step_dir, number, title, step_md))
    extra = set(found) - {str(s.number) for s in steps}
    if extra:
        raise LessonError(steps_dir / sorted(extra)[0], 1, "this step directory has no '## Step N:' heading")
    return LessonData(
        slug=directory.name,
        path=directory,
        title=front["title"],
        order=front["order"],
        summary=front["summary"],
        concepts=[str(c) for c in front["concepts"]],
        minutes=front["minutes"],
        intro_md=intro.strip(),
        steps=steps,
    )


def _split_steps(body, first_line, path):
    intro, sections, current = [], [], None
    for offset, line in enumerate(body.splitlines()):
        match = STEP_HEADING.match(line)
        if match:
            number = int(match.group(1))
            expected = len(sections) + 1
            if number != expected:
                raise LessonError(
                    path, first_line + offset, f"expected 'Step {expected}', found 'Step {number}'"
                )
            current = [number, match.group(2), [], first_line + offset]
            sections.append(current)
        elif line.startswith("## Step"):
            raise LessonError(path, first_line + offset, "a step heading must read '## Step N: Title'")
        elif current is None:
            intro.append(line)
        else:
            current[2].append(line)
    if not sections:
        raise LessonError(path, first_line, "the lesson has no steps: add '## Step 1: Title' headings")
    return "\n".join(intro), [(n, t, "\n".join(b).strip(), ln) for n, t, b, ln in sections]


# ---------------------------------------------------------------- steps
def _read_text(path):
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LessonError(path, 1, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise LessonError(path, 1, f"cannot read: {exc.strerror}") from None


def _python(path):
    if not path.is_file():
        raise LessonError(path, 1, f"missing {path.name}")
    source = _read_text(path)
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise LessonError(path, exc.lineno, f"Python syntax error: {exc.msg}") from None
    return source


def read_step(step_dir, number, title, body_md):
    yaml_path = step_dir / "step.yaml"
    if not yaml_path.is_file():
        raise LessonError(yaml_path, 1, "missing step.yaml")
    data, lines = parse_yaml(_read_text(yaml_path), yaml_path)
    if not isinstance(data, dict):
        raise LessonError(yaml_path, 1, "step.yaml must be a YAML mapping")
    unknown = set(data) - STEP_YAML_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise LessonError(
            yaml_path, _line(lines, key), f"unknown key '{key}' (expected one of {sorted(STEP_YAML_KEYS)})"
        )
    starter = _python(step_dir / "starter.py")
    solution = _python(step_dir / "solution.py")
    handler = data.get("handler", "handler")
    if not isinstance(handler, str) or not handler.isidentifier():
        raise LessonError(yaml_path, _line(lines, "handler"), "'handler' must be a Python name")
    config = _function_config(data.get("function") or {}, yaml_path, lines, "function")
    solution_config = _function_config(
        data.get("solution_function") or {}, yaml_path, lines, "solution_function"
    )
    events = _events(data, step_dir, yaml_path, lines)
    run = _run(data.get("run") or {}, yaml_path, lines)
    hidden = data.get("hidden_events", [])
    if not isinstance(hidden, list):
        raise LessonError(yaml_path, _line(lines, "hidden_events"), "'hidden_events' must be a list")
    hidden_events = [
        _event(item, step_dir, yaml_path, _line(lines, "hidden_events", i)) for i, item in enumerate(hidden)
    ]
    checks = data.get("check")
    if not isinstance(checks, list) or not checks:
        raise LessonError(yaml_path, _line(lines, "check"), "'check' must be a non-empty list of checks")
    for index, spec in enumerate(checks):
        try:
            validate_check(spec, run, len(events) + len(hidden_events))
        except CheckSpecError as exc:
            raise LessonError(yaml_path, _line(lines, "check", index), f"check {index + 1}: {exc}") from None
    hints = _hints(data, yaml_path, lines)
    return StepData(
        number=number,
        title=title,
        body_md=body_md,
        starter_code=starter,
        solution_code=solution,
        handler=handler,
        function_config=config,
        solution_config=solution_config,
        events=events,
        run=run,
        checks=checks,
        hints=hints,
        hidden_events=hidden_events,
        cheats=_cheats(step_dir),
        predict=_predict(data.get("predict"), yaml_path, lines),
        buckets=_buckets(data.get("buckets"), yaml_path, lines),
    )


def _deploy(value, path, line):
    """What the learner is expected to do with versions and aliases, replayed for the reference
    solution: [{publish: starter|solution}, {alias: {name, version, weights?}}, ...]."""
    if not isinstance(value, list):
        raise LessonError(path, line, "'deploy' is a list of {publish: starter|solution} and {alias: {...}}")
    for item in value:
        if isinstance(item, dict) and item.get("publish") in ("starter", "solution") and len(item) == 1:
            continue
        tune = item.get("tune") if isinstance(item, dict) and len(item) == 1 else None
        if isinstance(tune, dict) and isinstance(tune.get("sizes"), list) and len(tune["sizes"]) >= 3:
            continue
        alias = item.get("alias") if isinstance(item, dict) and len(item) == 1 else None
        if isinstance(alias, dict) and isinstance(alias.get("name"), str) and "version" in alias:
            weights = alias.get("weights", {})
            if isinstance(weights, dict) and all(isinstance(w, (int, float)) for w in weights.values()):
                continue
        raise LessonError(path, line, f"'deploy' step {item!r}: expected {{publish: starter|solution}} or "
                          "{alias: {name: live, version: 1, weights: {'2': 0.1}}}")
    return value


def _buckets(value, path, lines):
    """`buckets: [{name: config, objects: {key: text}, granted: false}]`: lesson buckets the
    check creates (named lesson-<function>-<name>); `granted: true` grants the function read."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise LessonError(path, _line(lines, "buckets"), "'buckets' must be a list")
    out = []
    for index, item in enumerate(value):
        line = _line(lines, "buckets", index)
        if not isinstance(item, dict) or not BUCKET_SUFFIX.match(str(item.get("name", ""))):
            raise LessonError(path, line, "a bucket needs a 'name' of 1-20 lower-case letters, digits or '-'")
        objects = item.get("objects", {})
        if not isinstance(objects, dict) or not all(isinstance(v, str) for v in objects.values()):
            raise LessonError(path, line, "'objects' maps keys to text")
        if not isinstance(item.get("granted", False), bool):
            raise LessonError(path, line, "'granted' must be true or false")
        out.append({"name": item["name"], "objects": objects, "granted": item.get("granted", False)})
    return out


def _predict(value, path, lines):
    """`predict: {question: ..., measure: cold|warm|throttled|ran|provisioned, choices: [...]}`."""
    if value is None:
        return {}
    line = _line(lines, "predict")
    if not isinstance(value, dict) or not isinstance(value.get("question"), str):
        raise LessonError(path, line, "'predict' needs a 'question' (text) and a 'measure'")
    if value.get("measure") not in MEASURES:
        raise LessonError(path, line, f"'predict.measure' must be one of {', '.join(MEASURES)}")
    unknown = set(value) - {"question", "measure", "choices", "explain"}
    if unknown:
        raise LessonError(path, line, f"unknown predict key '{sorted(unknown)[0]}'")
    choices = value.get("choices", [])
    whole = isinstance(choices, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in choices)
    if not whole:
        raise LessonError(path, line, "'predict.choices' must be a list of whole numbers")
    if not isinstance(value.get("explain", ""), str):
        raise LessonError(path, line, "'predict.explain' must be text")
    return dict(value)


def _hints(data, path, lines):
    """`hints: [nudge, concept, code]` (1 to 3 stages), or the older single `hint`."""
    if "hint" in data and "hints" in data:
        raise LessonError(path, _line(lines, "hints"), "use either 'hint' or 'hints', not both")
    raw = data.get("hints", [data["hint"]] if "hint" in data else [])
    texts = isinstance(raw, list) and all(isinstance(h, str) and h.strip() for h in raw)
    if not texts or len(raw) > HINT_STAGES:
        raise LessonError(
            path, _line(lines, "hints" if "hints" in data else "hint"),
            "'hints' is a list of up to 3 texts: a nudge, the concept, then the code",
        )  # fmt: skip
    return [h.strip() for h in raw]


def _cheats(step_dir):
    """steps/N/cheats/*.py: handlers that only imitate the visible example; each must fail."""
    folder = step_dir / "cheats"
    if not folder.is_dir():
        return {}
    return {path.name: _python(path) for path in sorted(folder.glob("*.py"))}


def _function_config(value, path, lines, key):
    if not isinstance(value, dict):
        raise LessonError(
            path, _line(lines, key), f"'{key}' must be a mapping (memory: 128, timeout: 3, ...)"
        )
    out = {}
    for name, raw in value.items():
        if name == "deploy" and key == "solution_function":
            out[name] = _deploy(raw, path, _line(lines, key, name))
            continue
        if name == "layers":
            if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
                problem = "'layers' lists layer names, e.g. [coldstart-numpy]"
                raise LessonError(path, _line(lines, key, name), problem)
            out[name] = raw
            continue
        if name == "logging":
            try:
                out[name] = logconfig.validate(raw)
            except logconfig.LoggingConfigError as exc:
                raise LessonError(path, _line(lines, key, name), f"'logging': {exc}") from None
            continue
        if name == "grants" and key == "solution_function":
            # What the learner is expected to grant, applied to the reference solution.
            if not isinstance(raw, list) or not all(BUCKET_SUFFIX.match(str(b)) for b in raw):
                raise LessonError(path, _line(lines, key, name), "'grants' lists lesson bucket names")
            out[name] = raw
            continue
        if name not in FUNCTION_KEYS:
            raise LessonError(
                path,
                _line(lines, key, name),
                f"unknown function setting '{name}' (expected one of {', '.join(FUNCTION_KEYS)})",
            )
        low, high = FUNCTION_KEYS[name]
        if raw is None and name == "reserved_concurrency":
            out[name] = None
            continue
        if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
            raise LessonError(
                path, _line(lines, key, name), f"'{name}' must be a whole number from {low} to {high}"
            )
        out[name] = raw
    return out


def _run(value, path, lines):
    if not isinstance(value, dict):
        raise LessonError(
            path, _line(lines, "run"), "'run' must be a mapping (times, concurrent, fresh, via, qualifier)"
        )
    out = {"times": 1, "concurrent": 1, "fresh": True}
    for name, raw in value.items():
        if name == "fresh":
            if not isinstance(raw, bool):
                raise LessonError(path, _line(lines, "run", name), "'fresh' must be true or false")
            out[name] = raw
        elif name == "via":
            if raw not in ("bucket", "queue", "async"):
                raise LessonError(path, _line(lines, "run", name), "'via' is bucket, queue or async")
            out[name] = raw
        elif name == "qualifier":
            if not isinstance(raw, (str, int)) or isinstance(raw, bool) or not str(raw).strip():
                problem = "'qualifier' is a version number or an alias name"
                raise LessonError(path, _line(lines, "run", name), problem)
            out[name] = str(raw)
        elif name in RUN_KEYS:
            low, high = RUN_KEYS[name]
            if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
                raise LessonError(
                    path, _line(lines, "run", name), f"'{name}' must be a whole number from {low} to {high}"
                )
            out[name] = raw
        else:
            raise LessonError(
                path,
                _line(lines, "run", name),
                f"unknown run setting '{name}' (times, concurrent, fresh, via, qualifier)",
            )
    if out["times"] > 1 and out["concurrent"] > 1:
        raise LessonError(
            path, _line(lines, "run"), "use either 'times' (one after another) or 'concurrent', not both"
        )
    return out


def _events(data, step_dir, path, lines):
    if "event" in data and "events" in data:
        raise LessonError(path, _line(lines, "events"), "use either 'event' or 'events', not both")
    if "events" in data:
        raw = data["events"]
        if not isinstance(raw, list) or not raw:
            raise LessonError(path, _line(lines, "events"), "'events' must be a non-empty list")
        return [_event(item, step_dir, path, _line(lines, "events", i)) for i, item in enumerate(raw)]
    return [_event(data.get("event", {}), step_dir, path, _line(lines, "event"))]


def _event(item, step_dir, path, line):
    """An event: a file name (JSON next to step.yaml), {template: name, args: {...}}, or inline."""
    if isinstance(item, str):
        event_path = step_dir / item
        if not event_path.is_file() or event_path.parent != step_dir:
            raise LessonError(path, line, f"event file '{item}' not found next to step.yaml")
        try:
            return json.loads(_read_text(event_path))
        except json.JSONDecodeError as exc:
            raise LessonError(event_path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    if isinstance(item, dict) and "template" in item:
        name = item["template"]
        if name not in EVENT_TEMPLATES:
            raise LessonError(
                path, line, f"unknown event template '{name}' (expected {', '.join(EVENT_TEMPLATES)})"
            )
        args = item.get("args") or {}
        if not isinstance(args, dict):
            raise LessonError(path, line, "template 'args' must be a mapping")
        try:
            EVENT_TEMPLATES[name](**args)
        except TypeError as exc:
            raise LessonError(path, line, f"event template '{name}': {exc}") from None
        # Built afresh for each run (ids and times change), so a sync stays idempotent.
        return {TEMPLATE_KEY: name, "args": args}
    if isinstance(item, dict):
        return item
    raise LessonError(path, line, "an event is a JSON file name, {template: ...}, or a mapping")


def resolve_event(event):
    """The event to send: a template reference is built now, with fresh ids and times."""
    if isinstance(event, dict) and TEMPLATE_KEY in event:
        return EVENT_TEMPLATES[event[TEMPLATE_KEY]](**event.get("args", {}))
    return event


def lesson_dirs(root=None):
    root = Path(root or CONTENT_DIR)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def read_all(root=None):
    """([LessonData], [LessonError]): every readable lesson, and one error per broken lesson."""
    lessons, errors = [], []
    for directory in lesson_dirs(root):
        try:
            lessons.append(read_lesson(directory))
        except LessonError as exc:
            errors.append(exc)
    return lessons, errors


# ---------------------------------------------------------------- into the database
@transaction.atomic
def save_lesson(data):
    """Create or update the Lesson and its Steps; learner progress on unchanged steps is kept."""
    from .models import Lesson, Step

    lesson, created = Lesson.objects.update_or_create(
        slug=data.slug,
        defaults={
            "title": data.title,
            "order": data.order,
            "summary": data.summary,
            "concepts": data.concepts,
            "minutes": data.minutes,
            "intro_md": data.intro_md,
            "source_path": str(data.path),
            "active": True,
            "synced": timezone.now(),
        },
    )
    changed = created
    for step in data.steps:
        fields = {
            "title": step.title,
            "body_md": step.body_md,
            "starter_code": step.starter_code,
            "solution_code": step.solution_code,
            "handler": step.handler,
            "function_config": step.function_config,
            "solution_config": step.solution_config,
            "events": step.events,
            "run": step.run,
            "checks": step.checks,
            "hints": step.hints,
            "hidden_events": step.hidden_events,
            "predict": step.predict,
            "buckets": step.buckets,
        }
        existing = Step.objects.filter(lesson=lesson, number=step.number).first()
        if existing is None:
            Step.objects.create(lesson=lesson, number=step.number, **fields)
            changed = True
        elif any(getattr(existing, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(existing, k, v)
            existing.save()
            changed = True
    removed, _ = Step.objects.filter(lesson=lesson, number__gt=len(data.steps)).delete()
    return lesson, changed or bool(removed)


def sync(root=None):
    """Load every valid lesson; returns (loaded lessons, changed count, errors)."""
    lessons, errors = read_all(root)
    changed = 0
    for data in lessons:
        _, was_changed = save_lesson(data)
        changed += was_changed
    return lessons, changed, errors


__all__ = ["CHECK_KINDS", "LessonError", "read_lesson", "read_all", "sync", "save_lesson"]
