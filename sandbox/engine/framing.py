"""Reading an environment's pipes without blocking the event loop, and framing its messages.

One reader serves both pipes: the output pipe (stdout and stderr, cut into log lines) and the
message pipe (newline-delimited JSON from the runtime). The child is untrusted: whatever it
writes, the parent only ever sees whole lines of bounded size, valid JSON objects, or the
OVERSIZE marker, which only the parent can produce.
"""

import asyncio
import contextlib
import json
import os
import time

OVERSIZE = object()  # put on the queue by the parent only: a child cannot forge it


class PipeReader:
    """Reads a non-blocking pipe on the event loop and hands every chunk to `on_data`;
    `on_eof` runs once when the writer side is closed."""

    def __init__(self, fd, on_data, on_eof=None, chunk_bytes=65536):
        self.fd = fd
        self.on_data = on_data
        self.on_eof = on_eof
        self.chunk_bytes = chunk_bytes
        self.closed = False
        os.set_blocking(fd, False)

    def start(self, loop):
        loop.add_reader(self.fd, self.read_available)

    def stop(self, loop):
        with contextlib.suppress(Exception):
            loop.remove_reader(self.fd)

    def read_available(self):
        """One read (the event loop calls this when the pipe is readable)."""
        self._read(once=True)

    def drain(self):
        """Everything the pipe holds now, without waiting for more."""
        self._read(once=False)

    def _read(self, once):
        while not self.closed:
            try:
                data = os.read(self.fd, self.chunk_bytes)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.closed = True
                with contextlib.suppress(RuntimeError):
                    self.stop(asyncio.get_running_loop())
                if self.on_eof is not None:
                    self.on_eof()
                return
            self.on_data(data)
            if once:
                return


class MessageFramer:
    """Turns bytes into messages: one JSON object per line, each put on `deliver` with its
    arrival time (`_arrived`, taken before any asyncio hop: it ends Duration). A line that is
    not a JSON object is dropped: it proves nothing. A line longer than `limit` is dropped and
    OVERSIZE is delivered once in its place."""

    def __init__(self, limit, deliver):
        self.limit = limit
        self.deliver = deliver
        self._buffer = b""
        self._discarding = False  # inside an oversized line: drop up to its newline

    def feed(self, data):
        self._buffer += data
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                break
            line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            if self._discarding:
                self._discarding = False
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                message["_arrived"] = time.monotonic()
                self.deliver(message)
        if len(self._buffer) > self.limit:
            self._buffer = b""
            if not self._discarding:
                self._discarding = True
                self.deliver(OVERSIZE)
