"""The Redis channel layer, configured to survive idle periods and Redis restarts.

channels-redis waits for messages with BZPOPMIN, which Redis answers after `brpop_timeout`
(5 s) when nothing came. redis-py 8 gives every socket read a 5 s timeout by default, so the
two race and an idle `runworker` died after some tens of seconds with
`redis.exceptions.TimeoutError` (channels_redis issue #422, redis-py issue #4091). The read
timeout here is longer than the blocking pop, and still finite so a dead peer is noticed.

A receiver (a sandbox worker, a page's consumer) that loses Redis retries with a backoff
instead of exiting: messages popped but not yet handled stay in channels-redis's backup queue
and are put back on the channel by the next receive. A sender retries a command a few times
on a fresh connection (redis-py's asyncio client does not by default), so the first request
after a Redis restart does not fail on a pooled connection the old server closed.
"""

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

log = logging.getLogger(__name__)

# Longer than RedisChannelLayer.brpop_timeout, the longest a healthy server keeps a read waiting.
SOCKET_TIMEOUT_S = 20
CONNECT_TIMEOUT_S = 5
LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0
COMMAND_RETRIES = 3


def redis_host(url):
    """One `hosts` entry for channels-redis: the URL plus the timeouts above."""
    return {
        "address": url,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_keepalive": True,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.1), COMMAND_RETRIES),
    }


class ReconnectingRedisChannelLayer(RedisChannelLayer):
    async def receive(self, channel):
        delay = BACKOFF_FIRST_S
        lost = False
        while True:
            try:
                message = await super().receive(channel)
            except LOST as error:
                if not lost:
                    log.warning("lost Redis while receiving on %s (%s); reconnecting", channel, error)
                    lost = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            if lost:
                log.warning("receiving on %s through Redis again", channel)
            return message
