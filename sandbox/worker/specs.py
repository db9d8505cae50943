"""From a saved Function (its $LATEST) or one of its published versions to the FunctionSpec an
environment runs."""

import hashlib
import json

from sandbox.engine.outcomes import FunctionSpec
from sandbox.engine.rules import logconfig
from sandbox.layers.attach import opt_dir_for
from sandbox.models import LATEST, MODULE_NAME


def function_spec(function, version=None):
    """`version`: a FunctionVersion (its frozen snapshot), or None for the editable $LATEST."""
    source = version if version is not None else function
    return FunctionSpec(
        name=function.name,
        handler=f"{MODULE_NAME}.{source.handler}",
        files={f"{MODULE_NAME}.py": source.code},
        memory_mb=source.memory_mb,
        timeout_s=float(source.timeout_s),
        environment=dict(source.environment or {}),
        key=function.id,
        version=str(version.number) if version is not None else LATEST,
        logging=logconfig.normalise(source.logging),
        opt_dir=opt_dir_for(function, arns=version.layers) if version is not None else opt_dir_for(function),
    )


def spec_version(spec):
    """Changes whenever the code or configuration does: $LATEST edited gets fresh environments."""
    data = json.dumps(
        [
            spec.name,
            spec.handler,
            spec.files,
            spec.memory_mb,
            spec.timeout_s,
            spec.environment,
            spec.version,
            spec.logging,
            spec.opt_dir,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def version_spec(function, executed_version):
    """The spec of the version an invocation runs ($LATEST, or a published version's snapshot)."""
    if executed_version == LATEST:
        return function_spec(function)
    return function_spec(function, function.versions.get(number=int(executed_version)))


def provisioned_specs(function):
    """{version: (spec, environments)} of the function's provisioned concurrency configurations."""
    from sandbox.versions import provisioned_targets

    return {
        version: (version_spec(function, version), count)
        for version, count in provisioned_targets(function).items()
    }
