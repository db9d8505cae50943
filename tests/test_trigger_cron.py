"""Schedule expressions: EventBridge rate() and 6-field cron(), UTC, with clear errors."""

from datetime import UTC, datetime

import pytest

from triggers.cron import ScheduleError, next_fire_times, parse

T = datetime(2026, 11, 25, 14, 7, 30, tzinfo=UTC)  # a Wednesday


def at(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_rate_fires_every_interval_after_the_start():
    assert next_fire_times("rate(5 minutes)", T, 3) == [
        at(2026, 11, 25, 14, 12, 30),
        at(2026, 11, 25, 14, 17, 30),
        at(2026, 11, 25, 14, 22, 30),
    ]
    assert next_fire_times("rate(1 hour)", T, 1) == [at(2026, 11, 25, 15, 7, 30)]
    assert next_fire_times("rate(2 days)", T, 1) == [at(2026, 11, 27, 14, 7, 30)]


def test_cron_every_day_at_noon():
    assert next_fire_times("cron(0 12 * * ? *)", T, 2) == [at(2026, 11, 26, 12, 0), at(2026, 11, 27, 12, 0)]


def test_cron_steps_ranges_and_weekday_names():
    times = next_fire_times("cron(0/20 9-17 ? * MON-FRI *)", at(2026, 11, 27, 17, 30), 3)  # Friday
    assert times == [at(2026, 11, 27, 17, 40), at(2026, 11, 30, 9, 0), at(2026, 11, 30, 9, 20)]


def test_cron_day_of_week_counts_sunday_as_1():
    assert next_fire_times("cron(0 8 ? * 1 *)", T, 1) == [at(2026, 11, 29, 8, 0)]  # a Sunday


def test_cron_lists_months_and_years():
    assert next_fire_times("cron(30 6 1 JAN,JUL ? 2027-2028)", T, 5) == [
        at(2027, 1, 1, 6, 30),
        at(2027, 7, 1, 6, 30),
        at(2028, 1, 1, 6, 30),
        at(2028, 7, 1, 6, 30),
    ]


def test_cron_a_day_that_exists_only_in_leap_years():
    assert next_fire_times("cron(0 0 29 2 ? *)", T, 2) == [at(2028, 2, 29, 0, 0), at(2032, 2, 29, 0, 0)]


def test_a_cron_whose_years_are_past_never_fires():
    assert next_fire_times("cron(0 0 1 1 ? 2020)", T, 3) == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("every 5 minutes", "rate(value unit)"),
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "positive"),
        ("rate(3 weeks)", "minute(s), hour(s) or day(s)"),
        ("cron(0 12 * * ?)", "has 5 field(s)"),
        ("cron(0 12 * * * *)", "use ? in exactly one"),
        ("cron(0 12 ? * ? *)", "use ? in exactly one"),
        ("cron(61 12 * * ? *)", "out of range 0-59"),
        ("cron(0 12 * 13 ? *)", "out of range 1-12"),
        ("cron(0 12 ? * 8 *)", "out of range 1-7"),
        ("cron(0 12 * FOO ? *)", "not a value"),
        ("cron(0 12 L * ? *)", "'L'"),
        ("cron(0 12 15W * ? *)", "'W'"),
        ("cron(0 12 ? * 6#3 *)", "'#'"),
        ("cron(0 12 ? * 6L *)", "not supported"),
        ("cron(10-5 * * * ? *)", "backwards"),
        ("cron(*/0 * * * ? *)", "step"),
    ],
)
def test_bad_expressions_are_rejected_with_a_clear_message(expression, message):
    with pytest.raises(ScheduleError) as caught:
        parse(expression)
    assert message in str(caught.value)


def test_month_and_day_names_with_l_and_w_letters_are_not_mistaken_for_the_unsupported_ones():
    parse("cron(0 9 ? JUL WED *)")
    assert next_fire_times("cron(0 9 ? JUL WED *)", T, 1) == [at(2027, 7, 7, 9, 0)]
