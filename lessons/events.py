"""Events that vary from one Check to the next, so a handler that returns what the lesson text
shows cannot pass. A string value may be a placeholder, filled afresh for each run:

    {{name}}         a first name (Grace, Linus, ...)
    {{word}}         a lower-case word
    {{int:A:B}}      a whole number from A to B (a number, when it is the whole value)
    {{amount}}       a price such as 12.35 (a number, when it is the whole value)
    {{uuid}}         a random UUID
    {{card}}         a card number that passes the Luhn check
    {{bad_card}}     one that does not

Placeholders inside longer text are replaced by their text ("order-{{int:1:99}}").
"""

import random
import re
import uuid

PLACEHOLDER = re.compile(r"\{\{(name|word|uuid|amount|card|bad_card|int:-?\d+:-?\d+)\}\}")
NAMES = ("Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Tim")
WORDS = ("apple", "river", "cloud", "lambda", "queue", "bucket", "comet", "maple", "orbit", "pixel")


def has_placeholders(value):
    if isinstance(value, str):
        return bool(PLACEHOLDER.search(value))
    if isinstance(value, dict):
        return any(has_placeholders(v) for v in value.values())
    if isinstance(value, list):
        return any(has_placeholders(v) for v in value)
    return False


def fill(value, rng=None):
    """`value` (any JSON value) with every placeholder filled from `rng`."""
    rng = rng or random.Random()
    if isinstance(value, dict):
        return {k: fill(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, rng) for v in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return _generate(whole.group(1), rng)
    return PLACEHOLDER.sub(lambda m: str(_generate(m.group(1), rng)), value)


def _generate(kind, rng):
    if kind == "name":
        return rng.choice(NAMES)
    if kind == "word":
        return rng.choice(WORDS)
    if kind == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if kind == "amount":
        return round(rng.randint(100, 99_999) / 100, 2)
    if kind in ("card", "bad_card"):
        return _card(rng, valid=kind == "card")
    _, low, high = kind.split(":")
    return rng.randint(int(low), int(high))


def _card(rng, valid):
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    check = luhn_check_digit(digits)
    return "".join(map(str, digits)) + str(check if valid else (check + rng.randint(1, 9)) % 10)


def luhn_check_digit(digits):
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return (10 - total % 10) % 10
