"""What the playground page shows: the function, its last result, event templates, totals, history."""

import json

from sandbox.engine.rules import events
from sandbox.models import ApiToken
from sandbox.web.fields import function_limits
from sandbox.web.presenters import history_page, result_context, totals_context

# Sizes worth offering between the limits (1 769 MB buys one full vCPU).
COMMON_MEMORY_MB = (256, 512, 1024, 1769, 2048, 3008, 4096)


def memory_choices(current):
    low, high = function_limits()["memory_mb"]
    return sorted({low, high, current} | {mb for mb in COMMON_MEMORY_MB if low < mb < high})


def token_context(user, key=None):
    """What the page says about `user`'s API token; `key` only in the response that issued it."""
    return {"api_token": ApiToken.objects.filter(user=user).first(), "new_api_key": key}


def playground_context(request, function, **extra):
    last = function.invocations.first()
    context = {
        "function": function,
        "last": last,
        "memory_choices": memory_choices(function.memory_mb),
        "limits": function_limits(),
        "event_templates": [(key, label) for key, (label, _) in events.TEMPLATES.items()],
        "templates_json": {key: build() for key, (_, build) in events.TEMPLATES.items()},
        "event_json": json.dumps(events.TEMPLATES["custom"][1](), indent=2),
    }
    context.update(token_context(request.user))
    if last is not None:
        context.update(result_context(last))
    context.update(totals_context(request.user))
    context.update(history_page(function, 1))
    context.update(extra)
    return context
