"""Aliases and their weighted routing, as Lambda applies them. Pure functions, standard library.

An alias points at one version and may send a share of its invocations to one more:
{"function_version": "1", "routing_config": {"additional_version_weights": {"2": 0.1}}} runs
version 2 for about 10 % of the invocations and version 1 for the rest. Each invocation draws
once, independently (a canary release, not a round robin).
"""

import math
import re

LATEST = "$LATEST"
# AWS's patterns: an alias name is letters, digits, - and _ but not only digits (that would
# read as a version number), 1-128 characters; a version is $LATEST or a number.
ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")
VERSION_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
MAX_ADDITIONAL_VERSIONS = 1  # "You can point an alias a maximum of two versions"


class RoutingError(ValueError):
    """A routing configuration AWS would reject (InvalidParameterValueException)."""


def is_alias_name(name):
    return isinstance(name, str) and ALIAS_NAME.fullmatch(name) is not None


def is_version_number(value):
    return isinstance(value, str) and VERSION_NUMBER.fullmatch(value) is not None


def clean_weights(primary, weights):
    """{"<version>": weight} checked as AWS checks it: published versions only (not $LATEST),
    not the primary version, one additional version at most, each weight from 0 to 1."""
    if weights in (None, {}):
        return {}
    if not isinstance(weights, dict):
        raise RoutingError('additional_version_weights must be an object: {"<version>": weight}.')
    if len(weights) > MAX_ADDITIONAL_VERSIONS:
        raise RoutingError("An alias can route to at most one additional version.")
    cleaned = {}
    where = "additional_version_weights"
    for version, weight in weights.items():
        version = str(version)
        if not is_version_number(version):
            raise RoutingError(
                f"{where}: {version!r} is not a published version number "
                "(weighted routing cannot use $LATEST)."
            )
        if primary == LATEST:
            raise RoutingError(
                "An alias with weighted routing must point at a published version, not $LATEST."
            )
        if version == primary:
            raise RoutingError(f"{where}: version {version} is already the alias's version.")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise RoutingError(f"{where}: the weight of version {version} must be a number.")
        if not 0 <= weight <= 1:
            raise RoutingError(
                f"{where}: the weight of version {version} must be from 0.0 to 1.0; got {weight}."
            )
        cleaned[version] = float(weight)
    return cleaned


def choose_version(primary, weights, rng):
    """The version one invocation of the alias runs. `rng` is a random.Random (seeded in tests)."""
    draw = rng.random()  # uniform in [0, 1)
    for version, weight in sorted((weights or {}).items()):
        if draw < weight:
            return version
        draw -= weight
    return primary


def split_provisioned(count, primary, weights):
    """Provisioned concurrency on a weighted alias is spread over its versions by weight:
    {"1": 9, "2": 1} for 10 at 10 %. The additional versions' shares are rounded to the nearest
    whole environment; the primary version gets the rest."""
    shares = {}
    left = count
    for version, weight in sorted((weights or {}).items()):
        share = min(left, math.floor(count * weight + 0.5))
        if share:
            shares[version] = share
        left -= share
    if left:
        shares[primary] = left
    return shares
