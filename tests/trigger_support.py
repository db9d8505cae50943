"""Shared pieces of the trigger tests: a fresh embedded worker with short timers, a learner with a
function, and polling until the database shows what a background loop did."""

import asyncio
import contextlib
import textwrap

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient  # noqa: F401  (the trigger tests import it from here)

from sandbox.models import Function
from tests.playground_support import embedded_worker


@contextlib.asynccontextmanager
async def trigger_worker(settings, timer_scale=0.01):
    """The embedded worker (and so the trigger loops) in this test's event loop, with every
    trigger timer multiplied by `timer_scale` (1 min retry -> 0.6 s)."""
    settings.TIMER_SCALE = timer_scale
    async with embedded_worker(settings):
        from sandbox.worker import ensure_embedded_worker

        ensure_embedded_worker()
        yield


@sync_to_async
def make_function(code, username="ada", **fields):
    owner, _ = get_user_model().objects.get_or_create(username=username)
    return Function.objects.create(owner=owner, name=f"{username}-fn", code=textwrap.dedent(code), **fields)


async def eventually(check, timeout=15.0, interval=0.1):
    """Await `check()` (sync, run off the loop) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await sync_to_async(check)()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check.__name__}")
        await asyncio.sleep(interval)
