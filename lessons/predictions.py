"""Predict, then observe: a step may ask for a number before the learner runs anything (e.g.
"of 4 requests at once with reserved concurrency 1, how many are throttled?"). The Check's own
invocations give the measured answer; both are kept and shown side by side."""

MEASURES = {
    "cold": ("cold starts", lambda inv: inv.status != "throttled" and inv.cold),
    "warm": ("warm invocations", lambda inv: inv.status not in ("throttled",) and not inv.cold),
    "throttled": ("throttled requests", lambda inv: inv.status == "throttled"),
    "ran": ("requests that ran", lambda inv: inv.status == "ok"),
    "provisioned": ("requests served by provisioned environments", lambda inv: inv.provisioned),
}


def measure(name, invocations):
    """How many of the check's invocations count for `name` (a MEASURES key)."""
    _, counts = MEASURES[name]
    return sum(1 for inv in invocations if counts(inv))


def describe(name):
    return MEASURES[name][0]
