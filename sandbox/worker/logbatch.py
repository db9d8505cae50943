"""Batching log lines between the worker and the pages: a flood never fills the channel layer
(ChannelFull) nor stalls other learners. Lines go out every `interval` seconds or every
`max_lines` lines, in order, from one sender task."""

import asyncio


class LogBatcher:
    def __init__(self, send, interval=0.02, max_lines=256):
        self.send = send  # async callable(start_index, lines)
        self.interval = interval
        self.max_lines = max_lines
        self.lines = []  # every line so far (the invocation's logs)
        self._sent = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.ensure_future(self._run())

    def add(self, line):
        self.lines.append(line)
        if len(self.lines) - self._sent >= self.max_lines:
            self._wakeup.set()

    async def _run(self):
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.interval)
            except TimeoutError:
                pass
            self._wakeup.clear()
            await self._flush()
            if self._closing:
                await self._flush()
                return

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
        self._closing = True
        self._wakeup.set()
        await self._task
