"""Reading an environment's pipes without blocking the event loop, and framing its messages.

One reader serves both pipes: the output pipe (stdout and stderr, cut into log lines) and the
message pipe (newline-delimited JSON from the runtime). The child is untrusted: whatever it
writes, the parent only ever sees whole lines of bounded size, valid JSON objects, or the
OVERSIZE marker, which only the parent can produce.

Messages are pulled, one at a time: the environment reads the message pipe only while it
waits for a message (`PipeReader.pause`/`resume`, lazily: see PipeReader), so a child that
writes faster than the parent answers blocks on its own full pipe instead of filling the
parent's memory.
"""

import contextlib
import json
import os
import select
import time
from collections import deque

OVERSIZE = object()  # returned by the parent's framer only: a child cannot forge it
CALL_TOO_LONG = object()  # a service call over the call limit (the runtime never sends one)

# The runtime writes every message with json.dumps, "type" first. Only results and errors may
# be as long as a response payload; any other line is held to the (small) call limit and a
# longer one is dropped unparsed, so junk costs the parent no more than its bytes.
LARGE_PREFIXES = (b'{"type": "result"', b'{"type": "error"')
CALL_PREFIX = b'{"type": "call"'
ARRIVALS_KEPT = 64  # arrival times remembered per buffer; past that, later lines get "now"


class PipeReader:
    """Reads a non-blocking pipe on the event loop and hands every chunk to `on_data`;
    `on_eof` runs once when the writer side is closed.

    A pause is lazy: the pipe stays registered with the loop until it turns readable while
    paused, and only then is it unregistered, unread. A child that writes nothing between two
    waits costs no epoll_ctl to pause and resume it; one that does is not read."""

    def __init__(self, fd, on_data, on_eof=None, chunk_bytes=65536):
        self.fd = fd
        self.on_data = on_data
        self.on_eof = on_eof
        self.chunk_bytes = chunk_bytes
        self.closed = False
        self.paused = True  # until start()
        self._loop = None  # the loop it is registered with, if any
        # drain() asks first whether there is anything to read (or an end): a poll costs a
        # third of a read that fails with EAGAIN (and its exception).
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        os.set_blocking(fd, False)

    def start(self, loop):
        self.resume(loop)

    def resume(self, loop):
        if self.paused and not self.closed:
            if self._loop is not loop:
                self._unregister()
                loop.add_reader(self.fd, self._readable)
                self._loop = loop
            self.paused = False

    def pause(self):
        self.paused = True

    def stop(self, loop):
        with contextlib.suppress(Exception):
            loop.remove_reader(self.fd)
        self._loop = None
        self.paused = True

    def _unregister(self):
        loop, self._loop = self._loop, None
        if loop is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(self.fd)

    def _readable(self):
        """The event loop's callback: one read, or while paused none (and no more callbacks)."""
        if self.paused:
            self._unregister()
        else:
            self._read(once=True)

    def read_available(self):
        """One read, now, if there is anything to read (or an end)."""
        if not self.closed and self._poll.poll(0):
            self._read(once=True)

    def drain(self, max_bytes=None):
        """What the pipe holds now (up to about `max_bytes`), without waiting for more."""
        if not self.closed and self._poll.poll(0):  # data, or the writer's end closed (POLLHUP)
            self._read(once=False, max_bytes=max_bytes)

    def _read(self, once, max_bytes=None):
        budget = max_bytes
        while not self.closed and (budget is None or budget > 0):
            try:
                data = os.read(self.fd, self.chunk_bytes)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.closed = True
                self._unregister()
                self.paused = True
                if self.on_eof is not None:
                    self.on_eof()
                return
            self.on_data(data)
            if budget is not None:
                budget -= len(data)
            if once:
                return


class MessageFramer:
    """Turns bytes into messages: one JSON object per line, handed out by `next()` one at a time
    with its arrival time (`_arrived`, taken when its bytes were read, before any asyncio hop: it
    ends Duration). A line that is not a JSON object is skipped: it proves nothing. A line longer
    than `limit` is dropped as it arrives and OVERSIZE stands in its place; a line longer than
    `call_limit` that is not a result or an error is not parsed: CALL_TOO_LONG stands in for a
    service call, anything else is skipped.

    Bytes are kept, not parsed, until asked for: at most `limit` of an unfinished line plus what
    one read brought, however many lines that holds."""

    def __init__(self, limit, call_limit=None):
        self.limit = limit
        self.call_limit = min(call_limit or limit, limit)
        self._buffer = bytearray()
        self._pos = 0  # start of the next line not yet handed out
        self._complete = 0  # just after the last newline in the buffer
        self._discarding = False  # inside an oversized line: drop up to its newline
        self._oversize = deque()  # buffer offsets where an OVERSIZE marker stands
        self._arrivals = deque()  # (buffer offset where a read ended, monotonic time of the read)

    @property
    def has_line(self):
        """A line or a marker is waiting: no need to read more before `next()`."""
        return self._complete > self._pos or bool(self._oversize)

    @property
    def buffered(self):
        return len(self._buffer) - self._pos

    def feed(self, data):
        if self._discarding:
            newline = data.find(b"\n")
            if newline < 0:
                return
            data = data[newline + 1 :]
            self._discarding = False
        start = len(self._buffer)
        self._buffer += data
        last_newline = self._buffer.rfind(b"\n", start)
        if last_newline >= 0:
            self._complete = last_newline + 1
            if len(self._arrivals) < ARRIVALS_KEPT:
                self._arrivals.append((len(self._buffer), time.monotonic()))
        unfinished = max(self._complete, self._pos)
        if len(self._buffer) - unfinished > self.limit:
            del self._buffer[unfinished:]
            self._oversize.append(unfinished)
            self._discarding = True

    def next(self):
        """The next message, OVERSIZE, or None when no whole line is left."""
        while True:
            if self._oversize and self._oversize[0] <= self._pos:
                self._oversize.popleft()
                return OVERSIZE
            if self._pos >= self._complete:
                self._compact()
                return None
            start = self._pos
            newline = self._buffer.find(b"\n", start)
            self._pos = newline + 1
            if newline == start:
                continue  # the empty line the runtime writes before each message: no JSON to try
            message = self._parse(start, newline)
            if message is CALL_TOO_LONG:
                return message
            if message is not None:
                message["_arrived"] = self._arrival(newline)
                return message

    def discard(self):
        """Drop everything waiting (leftovers of an earlier invocation), an unfinished line up to
        its newline included: the runtime starts each message on a line of its own."""
        if len(self._buffer) > max(self._pos, self._complete):
            self._discarding = True
        self._buffer.clear()
        self._pos = self._complete = 0
        self._oversize.clear()
        self._arrivals.clear()

    def _parse(self, start, end):
        length = end - start
        if length > self.call_limit and not any(self._buffer.startswith(p, start) for p in LARGE_PREFIXES):
            return CALL_TOO_LONG if self._buffer.startswith(CALL_PREFIX, start) else None
        try:
            message = json.loads(self._buffer[start:end])
        except (ValueError, RecursionError):
            return None
        return message if isinstance(message, dict) else None

    def _arrival(self, newline):
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] <= newline:
            arrivals.popleft()
        return arrivals[0][1] if arrivals else time.monotonic()

    def _compact(self):
        shift = self._pos
        if not shift:
            return
        del self._buffer[:shift]
        self._pos = 0
        self._complete = max(0, self._complete - shift)
        self._oversize = deque(offset - shift for offset in self._oversize)
        self._arrivals = deque((offset - shift, at) for offset, at in self._arrivals if offset > shift)
