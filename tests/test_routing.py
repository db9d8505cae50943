"""Aliases' weighted routing (sandbox.engine.rules.routing): the distribution is checked
statistically on a fixed seed, so the test is exact and repeatable."""

import math
import random

import pytest

from sandbox.engine.rules import routing

DRAWS = 20_000


def share_of(version, primary, weights, seed, draws=DRAWS):
    rng = random.Random(seed)
    chosen = [routing.choose_version(primary, weights, rng) for _ in range(draws)]
    assert set(chosen) <= {primary, *weights}
    return chosen.count(version) / draws


@pytest.mark.parametrize("weight", [0.01, 0.1, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("seed", [1, 2014, 99991])
def test_the_additional_version_gets_its_weight_within_four_standard_errors(weight, seed):
    share = share_of("2", "1", {"2": weight}, seed)
    standard_error = math.sqrt(weight * (1 - weight) / DRAWS)
    assert abs(share - weight) < 4 * standard_error, (share, weight)


def test_the_draws_of_a_seed_are_the_same_every_time_and_differ_between_seeds():
    def sequence(seed):
        rng = random.Random(seed)
        return [routing.choose_version("1", {"2": 0.3}, rng) for _ in range(200)]

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)


def test_each_invocation_draws_independently_not_in_a_round_robin():
    rng = random.Random(5)
    chosen = [routing.choose_version("1", {"2": 0.5}, rng) for _ in range(4_000)]
    pairs = list(zip(chosen, chosen[1:], strict=False))
    same = sum(a == b for a, b in pairs) / len(pairs)
    assert 0.45 < same < 0.55, "consecutive draws repeat about half the time at 50 %"


@pytest.mark.parametrize(("weight", "expected"), [(0.0, "1"), (1.0, "2")])
def test_weights_zero_and_one_route_every_invocation_the_same_way(weight, expected):
    rng = random.Random(3)
    assert {routing.choose_version("1", {"2": weight}, rng) for _ in range(1_000)} == {expected}


def test_without_routing_every_invocation_runs_the_aliass_version():
    rng = random.Random(3)
    assert {routing.choose_version("4", {}, rng) for _ in range(100)} == {"4"}


@pytest.mark.parametrize(
    ("count", "weights", "expected"),
    [
        (10, {"2": 0.1}, {"1": 9, "2": 1}),
        (10, {"2": 0.5}, {"1": 5, "2": 5}),
        (1, {"2": 0.1}, {"1": 1}),
        (1, {"2": 0.5}, {"2": 1}),
        (3, {}, {"1": 3}),
        (4, {"2": 1.0}, {"2": 4}),
    ],
)
def test_provisioned_concurrency_on_a_weighted_alias_is_spread_by_weight(count, weights, expected):
    shares = routing.split_provisioned(count, "1", weights)
    assert shares == expected
    assert sum(shares.values()) == count


@pytest.mark.parametrize(
    ("primary", "weights", "fragment"),
    [
        ("$LATEST", {"2": 0.1}, "not $LATEST"),
        ("1", {"1": 0.1}, "already"),
        ("1", {"2": 0.1, "3": 0.2}, "at most one"),
        ("1", {"$LATEST": 0.1}, "cannot use $LATEST"),
        ("1", {"02": 0.1}, "not a published version number"),
        ("1", {"2": 1.01}, "from 0.0 to 1.0"),
        ("1", {"2": float("nan")}, "must be a number"),
        ("1", {"2": True}, "must be a number"),
        ("1", [("2", 0.1)], "must be an object"),
    ],
)
def test_routing_that_aws_refuses_is_refused(primary, weights, fragment):
    with pytest.raises(routing.RoutingError, match=fragment.replace("$", r"\$")):
        routing.clean_weights(primary, weights)


def test_clean_weights_keeps_valid_weights_as_floats():
    assert routing.clean_weights("1", {2: 1}) == {"2": 1.0}
    assert routing.clean_weights("1", None) == {}


@pytest.mark.parametrize("name", ["live", "Prod_2", "canary-1", "a" * 128, "v2"])
def test_alias_names_as_aws_allows_them(name):
    assert routing.is_alias_name(name)


@pytest.mark.parametrize("name", ["", "12", "$LATEST", "has space", "a.b", "a" * 129, "live/x", None])
def test_alias_names_aws_refuses(name):
    assert not routing.is_alias_name(name)
