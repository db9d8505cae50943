"""Counters in Django's cache, for the abuse limits of settings.ABUSE.

A window opens with the first event of an identity and lasts `window_s`; at most `limit` events
are allowed in it. With the default cache (LocMemCache) a limit holds per process, which is the
whole server in embedded mode. With REDIS_URL the cache is Django's RedisCache, whose increments
are atomic in Redis, so a limit holds across every web and worker process sharing it.
"""

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after_s: int  # until the window ends


def _keys(name, ident):
    # Hashed: an identity may be a username or an address, never a raw cache key.
    digest = hashlib.sha256(str(ident).encode()).hexdigest()[:32]
    return f"rl:{name}:{digest}:n", f"rl:{name}:{digest}:t"


def _retry_after(opened, window_s, now):
    return max(1, int(opened + window_s - now + 0.999))


def hit(name, ident, limit, window_s):
    """Count one event for `ident`; allowed while its window holds at most `limit` of them."""
    now = time.time()
    count_key, opened_key = _keys(name, ident)
    timeout = int(window_s + 0.999)
    cache.add(opened_key, now, timeout=timeout)
    cache.add(count_key, 0, timeout=timeout)
    try:
        count = cache.incr(count_key)
    except ValueError:  # the window closed between add and incr
        cache.set(opened_key, now, timeout=timeout)
        cache.set(count_key, 1, timeout=timeout)
        count = 1
    opened = cache.get(opened_key, now)
    return Verdict(count <= limit, count, _retry_after(opened, window_s, now))


def peek(name, ident, limit, window_s):
    """The verdict for `ident` without counting anything: refused once `limit` is reached."""
    now = time.time()
    count_key, opened_key = _keys(name, ident)
    count = cache.get(count_key, 0)
    return Verdict(count < limit, count, _retry_after(cache.get(opened_key, now), window_s, now))


def client_address(request):
    """The client's address as the ASGI server saw it (behind a proxy, run daphne with
    --proxy-headers so this is the visitor's address, not the proxy's)."""
    return request.META.get("REMOTE_ADDR") or "unknown"
