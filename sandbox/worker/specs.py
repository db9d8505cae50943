"""From a saved Function to the FunctionSpec an environment runs."""

import hashlib
import json

from sandbox.engine.outcomes import FunctionSpec
from sandbox.layers.attach import opt_dir_for
from sandbox.models import MODULE_NAME


def function_spec(function):
    return FunctionSpec(
        name=function.name,
        handler=function.handler_path,
        files={f"{MODULE_NAME}.py": function.code},
        memory_mb=function.memory_mb,
        timeout_s=float(function.timeout_s),
        environment=dict(function.environment or {}),
        key=function.id,
        opt_dir=opt_dir_for(function),
    )


def spec_version(spec):
    """Changes whenever the code or configuration does: a new version gets fresh environments.
    The /opt directory is named by the layers' content and order, so it stands for the layer list."""
    data = json.dumps(
        [spec.name, spec.handler, spec.files, spec.memory_mb, spec.timeout_s, spec.environment, spec.opt_dir],
        sort_keys=True,
    )
    return hashlib.sha256(data.encode()).hexdigest()[:16]
