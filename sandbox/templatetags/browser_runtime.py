"""What the playground's "Run on: my browser" path needs from the server: the vendored Pyodide
and runtime wheel, where to record runs, and the billing rules (prices from settings)."""

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
