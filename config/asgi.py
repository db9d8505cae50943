"""ASGI entry point: HTTP through Django (static files included), WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from sandbox.status import isolation_status  # noqa: E402

# Start-up check: SANDBOX_REQUIRE=full refuses to serve on a host that cannot isolate.
isolation_status()

application = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_asgi_app)})
