"""A small asyncio HTTP/1.1 client for the benchmarks: one keep-alive connection per simulated
browser, its own cookie jar, Content-Length and chunked bodies. Loopback only; no dependency
beyond the standard library (the pinned requirements have no async HTTP client)."""

import asyncio
import json
from urllib.parse import urlencode, urlsplit


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> list of values
        self.body = body

    def header(self, name, default=None):
        values = self.headers.get(name.lower())
        return values[-1] if values else default

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)


class HttpClient:
    """One browser (or script): a cookie jar and a keep-alive connection to one server."""

    def __init__(self, base_url, timeout=60.0):
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.cookies = {}
        self._reader = self._writer = None
        self._lock = asyncio.Lock()

    async def close(self):
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._reader = self._writer = None

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def get(self, path, headers=None):
        return await self.request("GET", path, headers=headers)

    async def post_form(self, path, fields, headers=None):
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return await self.request("POST", path, body, headers)

    async def send_json(self, method, path, data, headers=None):
        body = json.dumps(data).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        return await self.request(method, path, body, headers)

    async def request(self, method, path, body=b"", headers=None):
        async with self._lock:
            for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
                try:
                    return await asyncio.wait_for(self._exchange(method, path, body, headers), self.timeout)
                except (ConnectionError, asyncio.IncompleteReadError):
                    await self.close()
                    if attempt == 2:
                        raise

    async def _exchange(self, method, path, body, headers):
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: keep-alive"]
        if self.cookies:
            lines.append(f"Cookie: {self.cookie_header()}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self._writer.drain()
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        response_headers = {}
        while True:
            line = await self._reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            response_headers.setdefault(name.strip().lower(), []).append(value.strip())
        if response_headers.get("transfer-encoding", [""])[-1].lower() == "chunked":
            data = bytearray()
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self._reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
            data = bytes(data)
        elif "content-length" in response_headers:
            data = await self._reader.readexactly(int(response_headers["content-length"][-1]))
        else:
            data = await self._reader.read()
            await self.close()
        if response_headers.get("connection", [""])[-1].lower() == "close":
            await self.close()
        for cookie in response_headers.get("set-cookie", []):
            pair = cookie.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if value in ("", '""'):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        return Response(status, response_headers, data)
