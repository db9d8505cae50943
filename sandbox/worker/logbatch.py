"""Batching log lines between the worker and the pages: a flood never fills the channel layer
(ChannelFull) nor stalls other learners, and a quiet handler's line is not held back.

The first line after a quiet spell goes out at once; what follows within `interval` seconds
goes out together after it (or as soon as `max_lines` are waiting), in order, from one sender
task. A handler printing now and then sees each line at once; a flood, one message per
`interval` or per `max_lines` lines."""

import asyncio
import contextlib


class LogBatcher:
    def __init__(self, send, interval=0.02, max_lines=256):
        self.send = send  # async callable(start_index, lines); None: keep the lines, send nothing
        self.interval = interval
        self.max_lines = max_lines
        self.lines = []  # every line so far (the invocation's logs)
        self._sent = 0
        self._pending = asyncio.Event()  # lines are waiting
        self._full = asyncio.Event()  # max_lines are waiting, or closing: no more pause
        self._closing = False
        self._task = asyncio.ensure_future(self._run()) if send is not None else None

    def add(self, line):
        self.lines.append(line)
        if self._task is None:
            return
        self._pending.set()
        if len(self.lines) - self._sent >= self.max_lines:
            self._full.set()

    async def _run(self):
        while True:
            await self._pending.wait()
            self._pending.clear()
            await self._flush()
            if self._closing:
                await self._flush()
                return
            # Lines that come during the pause are sent together after it.
            if not self._full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.interval)
            if not self._closing:
                self._full.clear()

    async def _flush(self):
        while self._sent < len(self.lines):
            start = self._sent
            batch = self.lines[start : start + self.max_lines]
            self._sent += len(batch)
            try:
                await self.send(start, batch)
            except Exception:  # a full or broken layer must not kill the invocation
                await asyncio.sleep(self.interval)

    async def close(self):
        """Send what is left, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._pending.set()
        self._full.set()
        await self._task
