"""Versions, aliases and provisioned concurrency: the domain rules, shared by the API, the pages,
the worker's client and the lessons.

- publish(function) freezes $LATEST into version N+1 (or returns the last version when nothing
  changed since, as Lambda does);
- put_alias / delete_alias manage aliases with optional weighted routing;
- resolve(function, qualifier) says which version one invocation runs;
- set_provisioned / provisioned_targets: provisioned concurrency lives on a version or an alias,
  never on $LATEST, at most one configuration per version (AWS's rules).

Errors carry AWS's exception names and HTTP statuses (ResourceNotFoundException 404,
ResourceConflictException 409, InvalidParameterValueException 400).
"""

import base64
import hashlib
import random
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.module_loading import import_string

from sandbox.engine.outcomes import FunctionSpec
from sandbox.engine.rules import logconfig, routing
from sandbox.models import LATEST, SNAPSHOT_FIELDS, Alias, FunctionVersion, ProvisionedConcurrency

_rng = random.SystemRandom()  # each invocation of a weighted alias draws independently


class VersionsError(Exception):
    status, code = 400, "InvalidParameterValueException"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Invalid(VersionsError):
    pass


class NotFound(VersionsError):
    status, code = 404, "ResourceNotFoundException"


class Conflict(VersionsError):
    status, code = 409, "ResourceConflictException"


def function_arn(function, qualifier=None):
    return FunctionSpec(name=function.name, handler="", files={}).qualified_arn(qualifier)


# ---------------------------------------------------------------- versions
def snapshot(function):
    """What a version freezes of $LATEST (SNAPSHOT_FIELDS, plus its layers when it has some)."""
    data = {name: getattr(function, name) for name in SNAPSHOT_FIELDS}
    data["logging"] = logconfig.normalise(data["logging"])
    data["layers"] = list(getattr(function, "layers", None) or [])
    return data


def code_sha256(code):
    """Base64 of the SHA-256 of the code, as Lambda's CodeSha256."""
    return base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()


def _same(version, data):
    current = {name: getattr(version, name) for name in data}
    current["logging"] = logconfig.normalise(current["logging"])
    return current == data


def publish(function, description=""):
    """Publish $LATEST as the next version: (version, created). When $LATEST has not changed
    since the last version, that version is returned and nothing is created."""
    if not isinstance(description, str) or len(description) > 256:
        raise Invalid("description must be a string of at most 256 characters.")
    data = snapshot(function)
    for _ in range(3):  # two publishers at once: the loser of the number retries
        latest = function.versions.order_by("-number").first()
        if latest is not None and _same(latest, data):
            return latest, False
        if function.versions.count() >= settings.SANDBOX["MAX_VERSIONS"]:
            raise Invalid(
                f"This function has {settings.SANDBOX['MAX_VERSIONS']} published versions, this server's "
                "limit per function: no new version."
            )
        number = (function.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                version = FunctionVersion.objects.create(
                    function=function,
                    number=number,
                    description=description,
                    code_sha256=code_sha256(data["code"]),
                    **data,
                )
            return version, True
        except IntegrityError:
            continue
    raise Conflict("Another publish of this function is in progress; try again.")


def get_version(function, number):
    """The published version `number` ("1"), or NotFound with Lambda's message."""
    if not routing.is_version_number(str(number)):
        raise Invalid(f"{number!r} is not a version number.")
    version = function.versions.filter(number=int(number)).first()
    if version is None:
        raise NotFound(f"Function not found: {function_arn(function, number)}")
    return version


# ---------------------------------------------------------------- aliases
def get_alias(function, name):
    alias = function.aliases.filter(name=name).first()
    if alias is None:
        raise NotFound(f"Alias not found: {function_arn(function, name)}")
    return alias


def _check_name(name):
    if not routing.is_alias_name(name):
        raise Invalid(
            f"Alias name {name!r} is not valid: 1-128 letters, digits, '-' or '_', and not only digits."
        )


def _check_target(function, version):
    if version == LATEST:
        return
    if not routing.is_version_number(version):
        raise Invalid(f"function_version must be $LATEST or a published version number; got {version!r}.")
    get_version(function, version)


def alias_versions(alias):
    """The versions an alias can run: its own, and the weighted one if any."""
    return [alias.function_version, *alias.routing]


def put_alias(function, name, function_version=None, routing_config=None, description=None):
    """Create or update an alias: (alias, created). On update, a missing field keeps its value;
    pointing at a new version without routing_config resets the routing, as AWS's UpdateAlias
    does when the routed version would be the alias's own."""
    _check_name(name)
    alias = function.aliases.filter(name=name).first()
    created = alias is None
    if created and function_version is None:
        raise Invalid("function_version is required to create an alias.")
    version = str(function_version) if function_version is not None else alias.function_version
    _check_target(function, version)
    if routing_config is None:
        weights = {} if created else {v: w for v, w in alias.routing.items() if v != version}
    else:
        if not isinstance(routing_config, dict) or set(routing_config) - {"additional_version_weights"}:
            raise Invalid('routing_config must be {"additional_version_weights": {"<version>": weight}}.')
        weights = routing_config.get("additional_version_weights") or {}
    try:
        weights = routing.clean_weights(version, weights)
    except routing.RoutingError as exc:
        raise Invalid(str(exc)) from None
    for extra in weights:
        get_version(function, extra)
    if description is not None and (not isinstance(description, str) or len(description) > 256):
        raise Invalid("description must be a string of at most 256 characters.")
    config = function.provisioned_configs.filter(qualifier=name).first()
    if config is not None and version == LATEST:
        raise Invalid("This alias has provisioned concurrency: it cannot point at $LATEST.")
    if config is not None:
        _check_no_overlap(function, name, [version, *weights])
    if created:
        if function.aliases.count() >= settings.SANDBOX["MAX_ALIASES"]:
            raise Invalid(
                f"This function has {settings.SANDBOX['MAX_ALIASES']} aliases, this server's limit."
            )
        alias = Alias(function=function, name=name)
    alias.function_version = version
    alias.routing = weights
    if description is not None:
        alias.description = description
    alias.revision = uuid.uuid4()
    alias.save()
    return alias, created


def delete_alias(function, name):
    """Delete an alias and its provisioned concurrency. Refused while something is bound to it
    (the function URL, a trigger): rebind those first, nothing is left pointing nowhere."""
    alias = get_alias(function, name)
    users = alias_users(function, name)
    if users:
        raise Conflict(
            f"The alias {name} is in use by {', '.join(users)}: bind those to another qualifier first."
        )
    with transaction.atomic():
        function.provisioned_configs.filter(qualifier=name).delete()
        alias.delete()


def alias_users(function, name):
    """Descriptions of what invokes the alias: the function URL, and what the apps registered
    in settings.ALIAS_USERS report (subscriptions, schedules)."""
    bound = type(function).objects.filter(pk=function.pk, url_qualifier=name).exists()  # not a stale copy
    found = ["the function URL"] if bound else []
    for path in getattr(settings, "ALIAS_USERS", []):
        found.extend(import_string(path)(function, name))
    return found


# ---------------------------------------------------------------- invoking
@dataclass(frozen=True)
class Target:
    """What one invocation runs: the version ("$LATEST" or "2"), its snapshot (None for
    $LATEST) and the qualifier the caller named ("" when none)."""

    executed_version: str
    version: FunctionVersion | None
    qualifier: str


def check_qualifier(function, qualifier):
    """Raise unless `qualifier` names something that exists ("" and $LATEST always do)."""
    if qualifier in (None, "", LATEST):
        return
    if routing.is_version_number(qualifier):
        get_version(function, qualifier)
    elif routing.is_alias_name(qualifier):
        get_alias(function, qualifier)
    else:
        raise Invalid(f"Qualifier {qualifier!r} is not valid: $LATEST, a version number or an alias name.")


def resolve(function, qualifier=None, rng=None):
    """The version one invocation runs. An alias with weighted routing draws once (rng)."""
    qualifier = qualifier or ""
    check_qualifier(function, qualifier)
    if qualifier in ("", LATEST):
        return Target(LATEST, None, qualifier)
    if routing.is_version_number(qualifier):
        return Target(qualifier, get_version(function, qualifier), qualifier)
    alias = get_alias(function, qualifier)
    chosen = routing.choose_version(alias.function_version, alias.routing, rng or _rng)
    version = None if chosen == LATEST else get_version(function, chosen)
    return Target(chosen, version, qualifier)


# ---------------------------------------------------------------- provisioned concurrency
def provisioned_limit():
    return min(settings.SCALING["ACCOUNT_CONCURRENCY"], settings.SANDBOX["MAX_ENVIRONMENTS"])


def _config_versions(function, config):
    if routing.is_version_number(config.qualifier):
        return [config.qualifier]
    alias = function.aliases.filter(name=config.qualifier).first()
    return alias_versions(alias) if alias else []


def _check_no_overlap(function, qualifier, versions):
    """Two configurations may not provision the same version (AWS)."""
    for other in function.provisioned_configs.exclude(qualifier=qualifier):
        shared = set(versions) & set(_config_versions(function, other))
        if shared:
            where = "version" if routing.is_version_number(other.qualifier) else "alias"
            raise Conflict(
                f"Version {min(shared)} already has provisioned concurrency through {where} "
                f"{other.qualifier}: a version can have only one provisioned concurrency configuration."
            )


def set_provisioned(function, qualifier, count):
    """Provisioned concurrency of a version or an alias; 0 removes it. Returns the config or None."""
    if qualifier in (None, "", LATEST):
        raise Invalid(
            "Provisioned concurrency cannot be applied to $LATEST (the unpublished version): "
            "publish a version, or point an alias at one, and configure it there."
        )
    if isinstance(count, bool) or not isinstance(count, int):
        raise Invalid("provisioned concurrency must be a whole number.")
    limit = provisioned_limit()
    if not 0 <= count <= limit:
        raise Invalid(f"Provisioned concurrency must be from 0 to {limit}; got {count}.")
    check_qualifier(function, qualifier)
    if count == 0:
        function.provisioned_configs.filter(qualifier=qualifier).delete()
        return None
    if routing.is_version_number(qualifier):
        versions = [qualifier]
    else:
        alias = get_alias(function, qualifier)
        if alias.function_version == LATEST:
            raise Invalid(
                f"The alias {qualifier} points at $LATEST: provisioned concurrency needs a published version."
            )
        versions = alias_versions(alias)
    _check_no_overlap(function, qualifier, versions)
    others = sum(c.requested for c in function.provisioned_configs.exclude(qualifier=qualifier))
    reserved = function.reserved_concurrency
    if reserved is not None and others + count > reserved:
        raise Invalid(
            f"Provisioned concurrency ({others + count} in all) cannot exceed the function's reserved "
            f"concurrency ({reserved})."
        )
    _check_learner_share(function, qualifier, count)
    config, created = ProvisionedConcurrency.objects.get_or_create(
        function=function, qualifier=qualifier, defaults={"requested": count}
    )
    if not created and config.requested != count:
        config.requested = count
        config.save(update_fields=["requested"])
    return config


def _check_learner_share(function, qualifier, count):
    """One learner's provisioned environments together stay within their share of the server
    (settings.SCALING LEARNER_PROVISIONED, and LEARNER_MEMORY_MB at each version's memory)."""
    scaling = settings.SCALING
    others = ProvisionedConcurrency.objects.filter(function__owner_id=function.owner_id).exclude(
        function=function, qualifier=qualifier
    )
    rows = list(others.select_related("function"))
    held = sum(c.requested for c in rows)
    cap = scaling["LEARNER_PROVISIONED"]
    if held + count > cap:
        raise Invalid(
            f"Provisioned concurrency {count} is over your share: your functions may keep {cap} "
            f"provisioned environments in all and the others keep {held}, so at most "
            f"{max(0, cap - held)} is left for this one."
        )
    memory_cap = scaling["LEARNER_MEMORY_MB"]
    held_mb = sum(c.requested * c.function.memory_mb for c in rows)
    needed = count * function.memory_mb
    if held_mb + needed > memory_cap:
        raise Invalid(
            f"Provisioned concurrency {count} at {function.memory_mb} MB would hold {needed} MB: your "
            f"share of this server's memory is {memory_cap} MB and your other provisioned environments "
            f"hold {held_mb} MB. Lower the count or the function's memory."
        )


def provisioned_of(function, qualifier):
    config = function.provisioned_configs.filter(qualifier=qualifier).first()
    return config.requested if config else 0


def _shares(function, config):
    """{version: environments} of one configuration: a version's own, or an alias's spread over
    its versions by weight ({} for an alias that no longer points at a published version)."""
    if routing.is_version_number(config.qualifier):
        return {config.qualifier: config.requested}
    alias = function.aliases.filter(name=config.qualifier).first()
    if alias is None or alias.function_version == LATEST:
        return {}
    return routing.split_provisioned(config.requested, alias.function_version, alias.routing)


def provisioned_targets(function):
    """{version: environments} the worker keeps initialised, from every configuration."""
    targets = {}
    for config in function.provisioned_configs.all():
        for version, count in _shares(function, config).items():
            targets[version] = targets.get(version, 0) + count
    return targets


def provisioned_capacity(function):
    """[(memory_mb, environments, since)] for the capacity bill of each configuration's versions."""
    memory = dict(function.versions.values_list("number", "memory_mb"))
    return [
        (memory.get(int(version), function.memory_mb), count, config.since)
        for config in function.provisioned_configs.all()
        for version, count in _shares(function, config).items()
    ]


def publish_and_point(function, alias_name, provisioned=None, description=""):
    """One step: publish $LATEST, point `alias_name` at it (no weighted routing) and, when
    `provisioned` is given, set the alias's provisioned concurrency. Returns (version, alias)."""
    _check_name(alias_name)
    with transaction.atomic():
        version, _ = publish(function, description)
        # A provisioned alias keeps its configuration: it moves to the new version with it.
        alias, _ = put_alias(function, alias_name, str(version.number), {"additional_version_weights": {}})
        if provisioned is not None:
            set_provisioned(function, alias_name, provisioned)
    return version, alias
