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

from config.isolation_headers import CrossOriginIsolatedStatic  # noqa: E402
from sandbox.web.routing import websocket_urlpatterns  # noqa: E402
from sandbox.web.status import isolation_status  # noqa: E402
from sandbox.worker import SandboxWorker  # noqa: E402
from sandbox.worker.channels import all_worker_channels  # noqa: E402

# Start-up check: SANDBOX_REQUIRE=full refuses to serve on a host that cannot isolate.
isolation_status()

application = ProtocolTypeRouter(
    {
        "http": CrossOriginIsolatedStatic(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "channel": ChannelNameRouter({name: SandboxWorker.as_asgi() for name in all_worker_channels()}),
    }
)
