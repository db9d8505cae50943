"""What the playground's "Run on: my browser" path needs from the server: the vendored Pyodide
and runtime wheel, where to record runs, and the billing rules (prices from settings)."""

import functools
import json
import sys

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from config.static_files import PYODIDE_DIR
from sandbox.engine.outcomes import FunctionSpec

register = template.Library()

RUNTIME_WHEEL = "vendor/pyodide/coldstart_runtime-0.1.0-py3-none-any.whl"


@register.simple_tag
def browser_runtime_config(function):
    spec = FunctionSpec(name=function.name, handler="", files={})
    billing = settings.BILLING
    return {
        # A directory, not a file: no hashed name, its version in its path instead.
        "indexURL": f"{settings.STATIC_URL}{PYODIDE_DIR}",
        "wheelURL": static(RUNTIME_WHEEL),
        "workerURL": static("js/pyodide-worker.js"),
        "recordURL": reverse("browser_run", args=[function.slug]),
        "functionName": function.name,
        "arn": spec.arn,
        "region": spec.region,
        "moduleName": "lambda_function",
        "payloadBytes": settings.SANDBOX["PAYLOAD_BYTES"],
        "outputCapBytes": settings.SANDBOX["OUTPUT_CAP_BYTES"],
        "prices": {
            "per_gb_second": billing["PER_GB_SECOND"],
            "per_request": billing["PER_REQUEST"],
            "bill_init_phase": billing["BILL_INIT_PHASE"],
        },
    }


@register.simple_tag
def runtime_versions():
    """{"server": "3.11", "browser": "3.12" or None}: the Python each "Run on" choice runs. The
    server sandbox runs this interpreter; the browser runs the vendored Pyodide's."""
    return {"server": f"{sys.version_info.major}.{sys.version_info.minor}", "browser": pyodide_python()}


@functools.lru_cache(maxsize=1)
def pyodide_python():
    """major.minor of the vendored Pyodide's Python (its lock file says), None before it is vendored."""
    from django.contrib.staticfiles import finders

    path = finders.find(f"{PYODIDE_DIR}pyodide-lock.json")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as lock:
            version = json.load(lock)["info"]["python"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ".".join(str(version).split(".")[:2])
