"""Fixed-window counters in Django's cache, for the abuse limits of settings.ABUSE.

With the default cache (LocMemCache) a limit holds per process, which is the whole server in
embedded mode. With REDIS_URL the cache is Django's RedisCache, whose increments are atomic in
Redis, so a limit holds across every web and worker process sharing it.
"""

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after_s: int  # until the current window ends


def _key(name, ident, window_s, now):
    # Hashed: an identity may be a username or an address, never a raw cache key.
    digest = hashlib.sha256(str(ident).encode()).hexdigest()[:32]
    return f"rl:{name}:{digest}:{int(now // window_s)}"


def _retry_after(window_s, now):
    return max(1, int(window_s - now % window_s + 0.999))


def hit(name, ident, limit, window_s, now=None):
    """Count one event for `ident`; allowed while the window holds at most `limit` of them."""
    now = time.time() if now is None else now
    key = _key(name, ident, window_s, now)
    cache.add(key, 0, timeout=int(window_s) + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=int(window_s) + 1)
        count = 1
    return Verdict(count <= limit, count, _retry_after(window_s, now))


def peek(name, ident, limit, window_s, now=None):
    """The verdict for `ident` without counting anything: refused once `limit` is reached."""
    now = time.time() if now is None else now
    count = cache.get(_key(name, ident, window_s, now), 0)
    return Verdict(count < limit, count, _retry_after(window_s, now))


def client_address(request):
    """The client's address as the ASGI server saw it (behind a proxy, run daphne with
    --proxy-headers so this is the visitor's address, not the proxy's)."""
    return request.META.get("REMOTE_ADDR") or "unknown"
