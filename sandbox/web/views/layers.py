"""The layers pages: the list of layers with an upload form (/layers/), and the Layers panel of a
function (attach, detach, order), which posts to /functions/<slug>/layers."""

import sys

from asgiref.sync import sync_to_async
from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from sandbox.layers.archive import LayerZipError, mib
from sandbox.layers.attach import clean_layer_list
from sandbox.layers.publish import StorageExceeded, TooManyUploads, apublish
from sandbox.web.fields import ConfigError
from sandbox.web.layer_panel import layer_groups, layers_panel
from sandbox.web.learners import TooManyGuests, ensure_learner, too_many_guests_response
from sandbox.web.ownership import own_function
from sandbox.web.page_context import playground_context


def _page_context(request, **extra):
    limits = settings.LAYERS
    return {
        "groups": layer_groups(request.user),
        "zip_limit": mib(limits["ZIP_BYTES"]),
        "unzipped_limit": mib(limits["UNZIPPED_BYTES"]),
        "per_function": limits["PER_FUNCTION"],
        "python": f"python{sys.version_info[0]}.{sys.version_info[1]}",
        **extra,
    }


# ---------------------------------------------------------------- the layers page


async def layers_page(request):
    """GET: the layers you can attach and the upload form. POST: publish the uploaded zip."""
    if request.method != "POST":
        context = await sync_to_async(_page_context)(request, published=request.GET.get("published"))
        return await sync_to_async(render)(request, "sandbox/layers.html", context)
    try:
        user = await sync_to_async(ensure_learner)(request)
    except TooManyGuests as exc:
        return await sync_to_async(too_many_guests_response)(request, exc)
    error, form = None, {}
    try:
        name, description, data = await sync_to_async(_uploaded)(request)
        form = {"name": name, "description": description}
        version = await apublish(user, name, data, description)
    except ConfigError as exc:
        error = str(exc)
    except LayerZipError as exc:
        error = f"That zip was refused: {exc}"
    except (StorageExceeded, TooManyUploads) as exc:
        error = str(exc)
    if error is None:
        return redirect(f"{reverse('layers')}?published={version.arn}")
    context = await sync_to_async(_page_context)(request, upload_error=error, form=form)
    return await sync_to_async(render)(request, "sandbox/layers.html", context, status=400)


def _uploaded(request):
    """(name, description, zip bytes) of the upload form; ConfigError naming what is wrong."""
    limit = settings.LAYERS["ZIP_BYTES"]
    if int(request.headers.get("Content-Length") or 0) > limit + (1 << 20):
        raise ConfigError("zip", f"The zip is over {mib(limit)}, Lambda's limit for a direct upload.")
    name = request.POST.get("name", "").strip()
    description = request.POST.get("description", "").strip()
    upload = request.FILES.get("zip")
    if upload is None:
        raise ConfigError("zip", "Choose a .zip file to upload.")
    if upload.size > limit:
        raise ConfigError(
            "zip", f"The zip is {mib(upload.size)}; Lambda's limit for a direct upload is {mib(limit)}."
        )
    return name, description, upload.read()


# ---------------------------------------------------------------- a function's Layers panel

MOVES = {"up": -1, "down": 1}


@require_POST
def function_layers(request, slug):
    """Attach (op=attach, arn=...), detach (op=detach:<i>) or move (op=up:<i>, down:<i>) a layer."""
    function = own_function(request, slug)
    layers = list(function.layers or [])
    op, _, index = request.POST.get("op", "").partition(":")
    message = error = None
    try:
        if op == "attach":
            layers.append(request.POST.get("arn", ""))
            verb = "Attached"
        elif op in ("detach", *MOVES) and index.isdigit() and int(index) < len(layers):
            at = int(index)
            if op == "detach":
                layers.pop(at)
                verb = "Detached"
            else:
                to = min(max(at + MOVES[op], 0), len(layers) - 1)
                layers.insert(to, layers.pop(at))
                verb = "Reordered"
        else:
            raise ConfigError("layers", "Choose a layer and an action.")
        cleaned = clean_layer_list(function.owner, layers, function.code)
        if cleaned != function.layers:
            function.layers = cleaned
            function.save(update_fields=["layers", "updated"])
            message = f"{verb}. The next invocation starts a new environment (a cold start)."
        else:
            message = "Nothing changed."
    except ConfigError as exc:
        error = str(exc)
    panel = layers_panel(function, message, error, opened=True)
    if request.headers.get("HX-Request"):  # 200 with the error shown: htmx swaps no 4xx answer
        return render(request, "sandbox/fragments/layers_panel.html", {"function": function, "layers": panel})
    if error is None:
        return redirect(function)
    context = playground_context(request, function, layers=panel)
    return render(request, "sandbox/function.html", context, status=400)
