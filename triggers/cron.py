"""EventBridge schedule expressions, as a pure module: `rate(...)` and 6-field `cron(...)`, UTC.

    cron(minutes hours day-of-month month day-of-week year)

Supported: `*`, `?`, values, ranges `a-b`, lists `a,b`, steps `*/n`, `a/n`, `a-b/n`, month names
JAN-DEC, day names SUN-SAT (EventBridge numbers days 1-7 with 1 = Sunday). One of
day-of-month / day-of-week must be `?`, as EventBridge requires. `L`, `W` and `#` are rejected
as unsupported here.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class ScheduleError(ValueError):
    """A schedule expression that is malformed or uses something unsupported."""


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
FIELDS = [  # name, low, high, names (index 0 -> low)
    ("minutes", 0, 59, None),
    ("hours", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, DAYS),
    ("year", 1970, 2199, None),
]
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class Cron:
    minutes: frozenset
    hours: frozenset
    days: frozenset | None  # None: `?`
    months: frozenset
    weekdays: frozenset | None  # EventBridge numbering, 1 = Sunday; None: `?`
    years: frozenset


def parse(expression):
    """A Rate or Cron, or ScheduleError with a message that says what is wrong."""
    text = (expression or "").strip()
    match = re.fullmatch(r"(rate|cron)\((.*)\)", text)
    if not match:
        raise ScheduleError(
            "A schedule is rate(value unit), e.g. rate(5 minutes), or cron(minutes hours "
            "day-of-month month day-of-week year), e.g. cron(0 12 * * ? *)."
        )
    kind, body = match.groups()
    return _parse_rate(body.strip()) if kind == "rate" else _parse_cron(body.strip())


def _parse_rate(body):
    match = re.fullmatch(r"(\d+)\s+([a-z]+)", body)
    if not match:
        raise ScheduleError(f"rate({body}): write rate(value unit), e.g. rate(5 minutes) or rate(1 hour).")
    value, unit = int(match.group(1)), match.group(2)
    if unit not in RATE_UNITS:
        raise ScheduleError(f"rate({body}): the unit must be minute(s), hour(s) or day(s).")
    if value < 1:
        raise ScheduleError(f"rate({body}): the value must be a positive whole number.")
    if value == 1 and unit.endswith("s"):
        raise ScheduleError(f"rate({body}): with 1, the unit is singular: rate(1 {unit[:-1]}).")
    if value > 1 and not unit.endswith("s"):
        raise ScheduleError(f"rate({body}): with {value}, the unit is plural: rate({value} {unit}s).")
    return Rate(value * RATE_UNITS[unit])


def _parse_cron(body):
    parts = body.split()
    if len(parts) != 6:
        raise ScheduleError(
            f"cron({body}) has {len(parts)} field(s); EventBridge cron has 6: "
            "minutes hours day-of-month month day-of-week year."
        )
    values = [_parse_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    dom, dow = parts[2], parts[4]
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"cron({body}): use ? in exactly one of day-of-month and day-of-week "
            "(e.g. cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *))."
        )
    for name, part in (("minutes", parts[0]), ("hours", parts[1]), ("month", parts[3]), ("year", parts[5])):
        if part == "?":
            raise ScheduleError(
                f"cron({body}): ? is only allowed in day-of-month or day-of-week, not {name}."
            )
    return Cron(*values)


def _parse_field(text, name, low, high, names):
    upper = text.upper()
    bare = upper
    for known in names or ():
        bare = bare.replace(known, "")
    for letter in ("L", "W", "#"):
        if letter in bare:
            raise ScheduleError(
                f"{name} field {text!r}: '{letter}' (last / weekday / nth) is not supported by Coldstart; "
                "use values, ranges, lists and steps."
            )
    if text == "?":
        return None
    result = set()
    for item in upper.split(","):
        if not item:
            raise ScheduleError(f"{name} field {text!r}: empty item in the list.")
        step, stepped = 1, "/" in item
        if stepped:
            item, _, step_text = item.partition("/")
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"{name} field {text!r}: the step after / must be a positive number.")
            step = int(step_text)
        if item == "*":
            start, end = low, high
        elif "-" in item:
            first, _, last = item.partition("-")
            start, end = _value(first, name, low, high, names), _value(last, name, low, high, names)
            if start > end:
                raise ScheduleError(f"{name} field {text!r}: the range {first}-{last} goes backwards.")
        else:
            start = _value(item, name, low, high, names)
            end = high if stepped else start
        result.update(range(start, end + 1, step))
    return frozenset(result)


def _value(text, name, low, high, names):
    if names and text in names:
        return low + names.index(text)
    if not text.isdigit():
        allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
        raise ScheduleError(f"{name}: {text!r} is not a value ({allowed}).")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{name}: {value} is out of range {low}-{high}.")
    return value


def next_fire_times(expr, after, n=5):
    """The next `n` fire times strictly after `after` (aware UTC datetimes).

    A rate counts from `after` (EventBridge counts from when the rule was created or enabled).
    """
    schedule = parse(expr) if isinstance(expr, str) else expr
    after = after.astimezone(UTC) if after.tzinfo else after.replace(tzinfo=UTC)
    if isinstance(schedule, Rate):
        return [after + timedelta(seconds=schedule.seconds * (i + 1)) for i in range(n)]
    times = []
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while len(times) < n:
        moment = _next_match(schedule, moment)
        if moment is None:
            break
        times.append(moment)
        moment += timedelta(minutes=1)
    return times


def _day_matches(cron, moment):
    if cron.days is not None:
        return moment.day in cron.days
    return (moment.isoweekday() % 7) + 1 in cron.weekdays  # Monday=1..Sunday=7 -> SUN=1..SAT=7


def _next_match(cron, moment):
    last_year = max(cron.years)
    while moment.year <= last_year:
        if moment.year not in cron.years:
            moment = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
        elif moment.month not in cron.months:
            moment = _next_month(moment)
        elif not _day_matches(cron, moment):
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        elif moment.hour not in cron.hours:
            moment = (moment + timedelta(hours=1)).replace(minute=0)
        elif moment.minute not in cron.minutes:
            moment += timedelta(minutes=1)
        else:
            return moment
    return None


def _next_month(moment):
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)


def describe(expr):
    """A short human sentence for the page."""
    schedule = parse(expr)
    if isinstance(schedule, Rate):
        return (
            f"every {schedule.seconds // 60} minute(s)"
            if schedule.seconds < 3600
            else (
                f"every {schedule.seconds // 3600} hour(s)"
                if schedule.seconds < 86400
                else f"every {schedule.seconds // 86400} day(s)"
            )
        )
    return "cron schedule (UTC)"
