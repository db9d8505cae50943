"""Cross-origin isolation for static files.

"Run on: my browser" interrupts a runaway handler through a SharedArrayBuffer, which browsers
only allow on a cross-origin-isolated page: the page, its worker script and the Pyodide files it
fetches must all be served with COOP same-origin and COEP require-corp (the function page view
adds them to its own response).
"""

HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class CrossOriginIsolatedStatic:
    """ASGI wrapper: adds the isolation headers to every response under `prefix`."""

    def __init__(self, app, prefix="/static/"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in names]
                message = dict(message, headers=list(message.get("headers", [])) + extra)
            await send(message)

        return await self.app(scope, receive, send_with_headers)
