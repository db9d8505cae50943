"""Layer ARNs as Lambda writes them: arn:aws:lambda:<region>:<account>:layer:<name>:<version>.
Every learner shares the one region and account the rest of Coldstart shows, so an ARN is read in
the context of a function's owner (their layers, then the public ones)."""

import re

from sandbox.engine.rules.events import ACCOUNT_ID, REGION

NAME = re.compile(r"[A-Za-z0-9_-]{1,140}")  # Lambda's LayerName
VERSION_ARN = re.compile(
    rf"arn:aws:lambda:{re.escape(REGION)}:{ACCOUNT_ID}:layer:(?P<name>[A-Za-z0-9_-]{{1,140}}):(?P<version>[1-9][0-9]{{0,8}})"
)


def layer_arn(name):
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{name}"


def layer_version_arn(name, version):
    return f"{layer_arn(name)}:{version}"


def parse_version_arn(arn):
    """(name, version) of a layer version ARN, or None if `arn` is not one."""
    match = VERSION_ARN.fullmatch(arn) if isinstance(arn, str) else None
    return (match["name"], int(match["version"])) if match else None
