"""The embedded default's channel layer: Channels' in-memory layer without its per-message costs.

Every log batch the worker streams is one group_send to the invocation's group and one receive
by each page that follows it. Channels' InMemoryChannelLayer, on each of them, walks every
channel queue and every group membership of the process for expired entries, starts one task
per group member, and deep-copies the message per member. With 50 pages following their runs
that was a measurable part of the event loop's time between a `print` and the browser
(bench/playground.py). Here:
- expired messages and memberships are swept at most once per EXPIRY_SWEEP_S (they live 60 s and
  a day: a second's precision changes nothing);
- a group's members get the message in turn (sending to a queue never waits), no task each;
- the copy each member gets is made by a copier for the JSON-like values messages hold (what the
  Redis layer could carry), falling back to deepcopy for anything else.
Same semantics otherwise: capacity, ChannelFull (skipped for a group, raised for a send), groups.
"""

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

EXPIRY_SWEEP_S = 1.0
_IMMUTABLE = (str, int, float, bool, bytes, type(None))


def copy_message(value):
    """A copy sharing nothing mutable with `value` (what deepcopy gives, for the usual values)."""
    if isinstance(value, _IMMUTABLE):
        return value
    kind = type(value)
    if kind is dict:
        return {key: copy_message(item) for key, item in value.items()}
    if kind is list:
        return [copy_message(item) for item in value]
    if kind is tuple:
        return tuple(copy_message(item) for item in value)
    return deepcopy(value)


class FastInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + EXPIRY_SWEEP_S
        super()._clean_expired()

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    def _put(self, channel, message):
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = self._new_queue(channel)
        if queue.full():
            raise ChannelFull(channel)
        queue.put_nowait((time.time() + self.expiry, copy_message(message)))

    def _new_queue(self, channel):
        return asyncio.Queue(maxsize=self.get_capacity(channel))

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass
