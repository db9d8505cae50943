"""A function's layers: an ordered list of layer version ARNs (Function.layers), checked when it is
saved and turned into the host directory mounted at /opt when the function runs.

An ARN is read for the function's owner: their own layers, and the public ones. A new list, or
the same layers in another order, is a new configuration: its /opt directory differs, so the
worker's spec_version changes and the warm environments go.
"""

import os

from django.conf import settings
from django.db.models import Q

from sandbox.layers import layer_store
from sandbox.layers.archive import mib
from sandbox.layers.arns import layer_version_arn, parse_version_arn
from sandbox.models import LayerVersion
from sandbox.web.fields import ConfigError

ARN_SHAPE = layer_version_arn("<name>", "<version>")


def visible_to(user):
    """The layer versions `user` may attach (without their zips): their own and the public ones."""
    owner = Q(owner__isnull=True) if user is None else Q(owner=user) | Q(owner__isnull=True)
    return LayerVersion.objects.filter(owner).defer("content")


def _find(user, name, version):
    """The version of that name `user` sees: their own layer, else the public one."""
    found = sorted(visible_to(user).filter(name=name, version=version), key=lambda v: v.owner_id is None)
    return found[0] if found else None


def clean_layer_list(user, value, code=""):
    """The checked list of layer version ARNs for a function of `user` (ConfigError naming the
    problem): at most 5, each a visible version, one version per layer, and the function's code
    and its layers together within Lambda's unzipped limit."""
    limits = settings.LAYERS
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(arn, str) for arn in value):
        raise ConfigError("layers", "layers must be a list of layer version ARNs.")
    if len(value) > limits["PER_FUNCTION"]:
        raise ConfigError(
            "layers", f"A function can have at most {limits['PER_FUNCTION']} layers; got {len(value)}."
        )
    versions = []
    for arn in value:
        parsed = parse_version_arn(arn.strip())
        if parsed is None:
            raise ConfigError("layers", f"{arn!r} is not a layer version ARN ({ARN_SHAPE}).")
        if any(v.name == parsed[0] for v in versions):
            raise ConfigError(
                "layers", f"The layer {parsed[0]!r} is listed twice; a function takes one version."
            )
        version = _find(user, *parsed)
        if version is None:
            raise ConfigError("layers", f"There is no layer version {arn.strip()} that you can use.")
        versions.append(version)
    total = len(code.encode()) + sum(v.unzipped_size for v in versions)
    if total > limits["UNZIPPED_BYTES"]:
        raise ConfigError(
            "layers",
            f"The function and its layers come to {mib(total)} unzipped; "
            f"the limit is {mib(limits['UNZIPPED_BYTES'])}.",
        )
    return [v.arn for v in versions]


def layer_versions(owner, arns):
    """The layer versions `arns` name for `owner`, in order (LookupError if one no longer exists)."""
    versions = []
    for arn in arns or []:
        parsed = parse_version_arn(arn)
        version = _find(owner, *parsed) if parsed else None
        if version is None:
            raise LookupError(f"the layer version {arn} no longer exists")
        versions.append(version)
    return versions


def zip_of(pk):
    """A layer version's zip, as bytes (PostgreSQL gives a memoryview)."""
    return bytes(LayerVersion.objects.values_list("content", flat=True).get(pk=pk))


def opt_dir_for(function, arns=None):
    """The host directory to mount at /opt for `function` (None without layers), extracting the
    layer versions this host has not seen yet from the database. `arns` defaults to the
    function's own list (a published version passes the list it was published with)."""
    arns = function.layers if arns is None else arns
    if not arns:  # most functions: no query for the owner on every invocation
        return None
    versions = layer_versions(function.owner, arns)
    if not versions:
        return None
    store = layer_store()
    for version in versions:
        store.ensure_extracted(version.sha256, lambda pk=version.pk: zip_of(pk))
    return os.path.realpath(store.opt_dir([v.sha256 for v in versions]))
