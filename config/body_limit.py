"""ASGI: a cap on request bodies that counts the bytes as they arrive, so a body sent chunked,
without a Content-Length, is refused as surely as one that declares its size.

A declared length over the limit is answered at once (413, the body never read). Otherwise the
bytes are counted; past the limit the application is told the client left (Django then drops
the request without running a view) and the client gets the 413. The limit depends on the path
(`limit_for(path)`): function URLs have their own, smaller one.

daphne (Twisted) receives a whole body before it hands the request to the application, on
disk past 100 kB; a reverse proxy's body limit (nginx `client_max_body_size`) stops it even
earlier (docs/security.md).
"""

import json


def _declared_length(scope):
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def too_large(send, limit):
    body = json.dumps({"message": f"Request Entity Too Large: the body limit is {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    def __init__(self, app, limit_for):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            return await too_large(send, limit)
        received = 0
        exceeded = started = False

        async def counted_receive():
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, watched_send)
        if exceeded and not started:
            await too_large(send, limit)
