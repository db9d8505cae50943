"""The JSON API of versions, aliases and provisioned concurrency (same auth and error shape as
sandbox/web/api.py):

  POST   /api/functions/<slug>/versions                      publish $LATEST -> 201 {"version": "1", ...}
  GET    /api/functions/<slug>/versions                      $LATEST and the published versions
  GET    /api/functions/<slug>/versions/<n>
  GET    /api/functions/<slug>/aliases
  PUT    /api/functions/<slug>/aliases/<name>                {"function_version", "routing_config",
                                                              "description", "provisioned_concurrency"}
  GET    /api/functions/<slug>/aliases/<name>
  DELETE /api/functions/<slug>/aliases/<name>
  GET|PUT|DELETE /api/functions/<slug>/provisioned-concurrency?qualifier=<version|alias>
                                                             {"provisioned_concurrent_executions": N}

Errors use AWS's names: ResourceNotFoundException (404), ResourceConflictException (409),
InvalidParameterValueException (400).
"""

from asgiref.sync import async_to_sync
from django.db import transaction
from django.http import HttpResponse, JsonResponse

from sandbox import versions
from sandbox.engine.rules import logconfig
from sandbox.models import LATEST
from sandbox.web.api_access import ApiError, api_endpoint, check_body_size, json_object, owned_function
from sandbox.worker import configure_function


def _api_error(exc):
    return ApiError(exc.status, exc.code, exc.message)


def _version_json(function, version):
    """$LATEST (version None) or a published version, with what it runs."""
    source = version or function
    number = str(version.number) if version else LATEST
    return {
        "version": number,
        "function_arn": versions.function_arn(function, number),
        "description": version.description if version else "",
        "code_sha256": version.code_sha256 if version else versions.code_sha256(function.code),
        "handler": source.handler,
        "memory_mb": source.memory_mb,
        "timeout_s": source.timeout_s,
        "environment": source.environment,
        "logging": logconfig.normalise(source.logging),
        "layers": list(version.layers) if version else versions.snapshot(function)["layers"],
        "created": (version.created if version else function.updated).isoformat(),
        "provisioned_concurrency": versions.provisioned_of(function, number) if version else 0,
    }


def _alias_json(function, alias):
    return {
        "name": alias.name,
        "alias_arn": versions.function_arn(function, alias.name),
        "function_version": alias.function_version,
        "routing_config": {"additional_version_weights": dict(alias.routing)},
        "description": alias.description,
        "revision_id": str(alias.revision),
        "provisioned_concurrency": versions.provisioned_of(function, alias.name),
    }


def _no_unknown_fields(data, known):
    unknown = set(data) - known
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ApiError(400, "InvalidParameterValueException", f"Unknown field(s): {names}.")


def _tell_worker(function):
    """Provisioned environments follow aliases and configurations: the worker re-reads them."""
    async_to_sync(configure_function)(function)


@api_endpoint(["GET", "POST"])
def function_versions(request, user, slug):
    function = owned_function(user, slug)
    if request.method == "GET":
        items = [_version_json(function, None)]
        items += [_version_json(function, v) for v in function.versions.order_by("number")]
        return JsonResponse({"versions": items})
    data = _body(request)
    _no_unknown_fields(data, {"description"})
    try:
        version, created = versions.publish(function, data.get("description", ""))
    except versions.VersionsError as exc:
        raise _api_error(exc) from None
    # Lambda publishes nothing when $LATEST has not changed: the last version comes back (200).
    return JsonResponse(_version_json(function, version), status=201 if created else 200)


@api_endpoint(["GET"])
def function_version(request, user, slug, number):
    function = owned_function(user, slug)
    try:
        version = versions.get_version(function, number)
    except versions.VersionsError as exc:
        raise _api_error(exc) from None
    return JsonResponse(_version_json(function, version))


@api_endpoint(["GET"])
def function_aliases(request, user, slug):
    function = owned_function(user, slug)
    return JsonResponse({"aliases": [_alias_json(function, a) for a in function.aliases.all()]})


ALIAS_FIELDS = {"function_version", "routing_config", "description", "provisioned_concurrency"}


@api_endpoint(["GET", "PUT", "DELETE"])
def function_alias(request, user, slug, name):
    function = owned_function(user, slug)
    try:
        if request.method == "GET":
            return JsonResponse(_alias_json(function, versions.get_alias(function, name)))
        if request.method == "DELETE":
            versions.delete_alias(function, name)
            _tell_worker(function)
            return HttpResponse(status=204)
        data = _body(request)
        _no_unknown_fields(data, ALIAS_FIELDS)
        version = data.get("function_version")
        if version is not None and not isinstance(version, str | int):
            raise ApiError(
                400, "InvalidParameterValueException", 'function_version must be a string, e.g. "1".'
            )
        with transaction.atomic():
            alias, created = versions.put_alias(
                function,
                name,
                None if version is None else str(version),
                data.get("routing_config"),
                data.get("description"),
            )
            if "provisioned_concurrency" in data:
                versions.set_provisioned(function, name, data["provisioned_concurrency"])
    except versions.VersionsError as exc:
        raise _api_error(exc) from None
    _tell_worker(function)
    return JsonResponse(_alias_json(function, alias), status=201 if created else 200)


def _provisioned_json(function, qualifier):
    config = function.provisioned_configs.filter(qualifier=qualifier).first()
    if config is None:
        raise ApiError(
            404,
            "ProvisionedConcurrencyConfigNotFoundException",
            f"No provisioned concurrency configuration for {versions.function_arn(function, qualifier)}.",
        )
    return {
        "qualifier": qualifier,
        "requested_provisioned_concurrent_executions": config.requested,
        "last_modified": config.since.isoformat(),
    }


@api_endpoint(["GET", "PUT", "DELETE"])
def provisioned_concurrency(request, user, slug):
    function = owned_function(user, slug)
    qualifier = request.GET.get("qualifier", "")
    try:
        if request.method == "GET":
            versions.check_qualifier(function, qualifier)
            return JsonResponse(_provisioned_json(function, qualifier))
        if request.method == "DELETE":
            versions.check_qualifier(function, qualifier)
            _provisioned_json(function, qualifier)  # 404 when there is none
            versions.set_provisioned(function, qualifier, 0)
            _tell_worker(function)
            return HttpResponse(status=204)
        data = _body(request)
        count = data.get("provisioned_concurrent_executions")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ApiError(
                400,
                "InvalidParameterValueException",
                "provisioned_concurrent_executions must be a whole number of at least 1.",
            )
        versions.set_provisioned(function, qualifier, count)
    except versions.VersionsError as exc:
        raise _api_error(exc) from None
    _tell_worker(function)
    return JsonResponse(dict(_provisioned_json(function, qualifier), status="IN_PROGRESS"), status=202)


def _body(request):
    check_body_size(request)
    return json_object(request.body)
