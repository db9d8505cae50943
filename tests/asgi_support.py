"""One HTTP request through the whole ASGI application of config/asgi.py (the guards around
Django included), with the client address, host and body chunks a test chooses."""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from channels.testing import ApplicationCommunicator


@dataclass
class Response:
    status: int
    headers: list  # (lower-case name, value) pairs, str, in order; repeats kept
    body: bytes

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def all(self, name):
        return [value for key, value in self.headers if key == name.lower()]


async def asgi_request(
    method,
    url,
    *,
    headers=(),
    body=b"",
    chunks=None,
    client=("203.0.113.5", 40000),
    host="localhost",
    timeout=30,
):
    """`chunks`: send the body in these pieces (more_body), with no Content-Length unless given."""
    from config.asgi import application

    parts = urlsplit(url)
    raw = [(b"host", host.encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in headers]
    if chunks is None and body and not any(name.lower() == "content-length" for name, _ in headers):
        raw.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": unquote(parts.path),
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": raw,
        "client": client,
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    pieces = chunks if chunks is not None else [body]
    for n, piece in enumerate(pieces):
        more = n < len(pieces) - 1
        await communicator.send_input({"type": "http.request", "body": piece, "more_body": more})
    start = await communicator.receive_output(timeout)
    assert start["type"] == "http.response.start", start
    content = b""
    while True:
        message = await communicator.receive_output(timeout)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout)
    pairs = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in start["headers"]]
    return Response(start["status"], pairs, content)
