"""Lesson events that vary between Checks: placeholders filled afresh for each run."""

import random

from lessons.events import fill, has_placeholders, luhn_check_digit


def luhn_valid(number):
    digits = [int(d) for d in number]
    return luhn_check_digit(digits[:-1]) == digits[-1]


def test_a_whole_value_placeholder_becomes_a_typed_value_and_text_placeholders_become_text():
    event = fill({"n": "{{int:5:5}}", "id": "order-{{int:7:7}}", "who": "{{name}}"}, random.Random(1))
    assert event["n"] == 5 and event["id"] == "order-7"
    assert isinstance(event["who"], str) and event["who"]


def test_placeholders_vary_between_runs_but_a_seed_repeats_them():
    template = {"name": "{{name}}", "amount": "{{amount}}", "id": "{{uuid}}"}
    runs = [fill(template) for _ in range(20)]
    assert len({r["id"] for r in runs}) == 20
    assert len({r["name"] for r in runs}) > 1
    assert fill(template, random.Random(42)) == fill(template, random.Random(42))


def test_cards_pass_or_fail_the_luhn_check_as_asked():
    rng = random.Random(3)
    assert all(luhn_valid(fill("{{card}}", rng)) for _ in range(50))
    assert not any(luhn_valid(fill("{{bad_card}}", rng)) for _ in range(50))


def test_nested_values_are_filled_and_detected():
    template = {"Records": [{"body": "{{word}}"}, {"body": "plain"}]}
    assert has_placeholders(template) and not has_placeholders({"a": ["{{unknown}}", 1]})
    filled = fill(template, random.Random(0))
    assert not has_placeholders(filled) and filled["Records"][1]["body"] == "plain"
