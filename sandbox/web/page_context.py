"""What the playground page shows: the function, its last result, event templates, totals, history."""

import json

from sandbox.engine.rules import events, logconfig
from sandbox.models import LATEST, ApiToken
from sandbox.web.fields import function_limits
from sandbox.web.layer_panel import layers_panel
from sandbox.web.log_display import DISPLAY_LINES_CAP, OLDER_RUN_LINES_CAP, visible_log_lines
from sandbox.web.presenters import RUNS_KEPT, history_page, log_run_context, result_context, totals_context

# Sizes worth offering between the limits (1 769 MB buys one full vCPU).
COMMON_MEMORY_MB = (256, 512, 1024, 1769, 2048, 3008, 4096)


def memory_choices(current):
    low, high = function_limits()["memory_mb"]
    return sorted({low, high, current} | {mb for mb in COMMON_MEMORY_MB if low < mb < high})


def log_runs(function):
    """The log pane's runs: the last RUNS_KEPT invocations, oldest first; the newest is current."""
    recent = list(function.invocations.all()[:RUNS_KEPT])[::-1]
    runs = []
    for number, invocation in enumerate(recent, 1):
        current = number == len(recent)
        cap = DISPLAY_LINES_CAP if current else OLDER_RUN_LINES_CAP
        runs.append(log_run_context(invocation, visible_log_lines(invocation.log_lines, cap), current))
    return runs


def token_context(user, key=None):
    """What the page says about `user`'s API token; `key` only in the response that issued it."""
    return {"api_token": ApiToken.objects.filter(user=user).first(), "new_api_key": key}


def alias_label(alias):
    label = f"alias {alias.name} → {alias.function_version}"
    for version, weight in alias.routing.items():
        label += f" ({weight * 100:g} % → {version})"
    return label


def qualifier_choices(function):
    """[(qualifier, label)] a page can invoke: $LATEST, each alias, each published version."""
    choices = [("", f"{LATEST} (the editor)")]
    choices += [(a.name, alias_label(a)) for a in function.aliases.all()]
    numbers = function.versions.order_by("-number").values_list("number", flat=True)
    choices += [(str(n), f"version {n}") for n in numbers]
    return choices


def alias_form(function, name="live"):
    """The alias editor's fields: the alias `name` as it is now, or a new one on the newest version."""
    alias = function.aliases.filter(name=name).first()
    if alias is None:
        newest = function.versions.order_by("-number").values_list("number", flat=True).first()
        return {"name": name, "version": str(newest or "$LATEST"), "extra": "", "weight": "0"}
    extra, weight = next(iter(alias.routing.items()), ("", 0))
    return {"name": name, "version": alias.function_version, "extra": extra, "weight": f"{weight * 100:g}"}


def versions_context(function, selected="", alias_name="live"):
    """The versions bar and the qualifier picker: published versions (newest first), aliases with
    their routing in percent and provisioned concurrency, and what the picker offers."""
    provisioned = {c.qualifier: c.requested for c in function.provisioned_configs.all()}
    aliases = [
        {
            "name": a.name,
            "function_version": a.function_version,
            "routing": [(v, f"{w * 100:g}") for v, w in a.routing.items()],
            "provisioned": provisioned.get(a.name, 0),
        }
        for a in function.aliases.all()
    ]
    return {
        "qualifiers": qualifier_choices(function),
        "selected_qualifier": selected,
        "versions": list(function.versions.order_by("-number")),
        "aliases": aliases,
        "alias_form": alias_form(function, alias_name or "live"),
    }


def playground_context(request, function, **extra):
    runs = log_runs(function)
    last = runs[-1]["invocation"] if runs else None
    context = {
        "function": function,
        "last": last,
        "log_runs": runs,
        "runs_kept": RUNS_KEPT,
        "memory_choices": memory_choices(function.memory_mb),
        "limits": function_limits(),
        "event_templates": [(key, label) for key, (label, _) in events.TEMPLATES.items()],
        "templates_json": {key: build() for key, (_, build) in events.TEMPLATES.items()},
        "event_json": json.dumps(events.TEMPLATES["custom"][1](), indent=2),
        "logging": logconfig.normalise(function.logging),
        "log_formats": logconfig.LOG_FORMATS,
        "application_levels": logconfig.APPLICATION_LEVELS,
        "system_levels": logconfig.SYSTEM_LEVELS,
    }
    context["layers"] = layers_panel(function)
    context.update(token_context(request.user))
    context.update(versions_context(function))
    if last is not None:
        context.update(result_context(last))
    context.update(totals_context(request.user))
    context.update(history_page(function, 1))
    context.update(extra)
    return context
