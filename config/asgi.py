"""ASGI entry point: HTTP through Django (static files by servestatic in its middleware, with the
cross-origin isolation headers added here), WebSockets through Channels, and the sandbox worker's
channels for `manage.py runworker sandbox`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.body_limit import BodySizeLimit  # noqa: E402
from config.isolation_headers import CrossOriginIsolatedStatic  # noqa: E402
from sandbox.web.fast_invoke import FastInvoke  # noqa: E402
from sandbox.web.routing import websocket_urlpatterns  # noqa: E402
from sandbox.web.status import isolation_status  # noqa: E402
from sandbox.worker import SandboxWorker  # noqa: E402
from sandbox.worker.channels import all_worker_channels  # noqa: E402
from triggers import http as function_urls  # noqa: E402
from triggers.url_guard import FunctionUrlGuard  # noqa: E402

# Start-up check: SANDBOX_REQUIRE=full refuses to serve on a host that cannot isolate.
isolation_status()


LAYER_UPLOADS = ("/api/layers", "/layers/")  # a layer's zip: the API's body, the page's form


def body_limit_for(path):
    if path.startswith(function_urls.PREFIX):
        return function_urls.body_limit()
    if path.startswith(LAYER_UPLOADS):
        return max(settings.LAYERS["ZIP_BYTES"] + (1 << 20), settings.ABUSE["REQUEST_BODY_MAX_BYTES"])
    return settings.ABUSE["REQUEST_BODY_MAX_BYTES"]


# FunctionUrlGuard is outermost: it sandboxes every /fn/ response, the body limit's 413 included,
# and keeps the app and function URLs on their own origins (docs/security.md).
# FastInvoke answers well-formed Bearer invoke calls without Django's per-request thread and
# middleware hops; everything else, errors included, it hands to Django.
http_app = BodySizeLimit(CrossOriginIsolatedStatic(FastInvoke(django_asgi_app)), body_limit_for)
websocket_app = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
application = ProtocolTypeRouter(
    {
        "http": FunctionUrlGuard(http_app),
        "websocket": FunctionUrlGuard(websocket_app),
        "channel": ChannelNameRouter({name: SandboxWorker.as_asgi() for name in all_worker_channels()}),
    }
)
