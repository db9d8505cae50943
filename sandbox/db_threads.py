"""Database calls from async code, on threads of their own with one persistent connection each.

asgiref's default (thread-sensitive) runs every such call of the process on one thread, where a
class's invocations, sockets and loops queue behind each other; channels'
database_sync_to_async also reconnects around every call. Here reads run side by side on a
small pool. Writes to SQLite go to one writer thread: SQLite takes one writer at a time anyway,
and a writer that finds the database locked sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100
ms) where a queue would have started it the moment the last write ended. Use it for
self-contained calls only (no transaction spans two of them).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial, wraps

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from django.conf import settings
from django.db import DatabaseError, connections

# Short calls, mostly waiting on the database: a few threads per core keep both cores busy.
THREADS = max(4, 2 * (os.cpu_count() or 1))
_own = threading.local()


def _mark_own_thread():
    _own.thread = True


_readers = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="db", initializer=_mark_own_thread)
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer", initializer=_mark_own_thread)


@cache
def _one_writer_at_a_time():
    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def in_db_thread(func=None, *, writes=False):
    """`func` as a coroutine function that runs on the database threads; `writes=True` for
    calls that write (they queue for SQLite's one writer)."""
    if func is None:
        return partial(in_db_thread, writes=writes)

    @wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DatabaseError:
            # A broken connection is not reused: the thread's next call reconnects.
            for connection in connections.all(initialized_only=True):
                connection.close()
            raise

    pooled = sync_to_async(call, thread_sensitive=False, executor=_readers)
    if not writes:
        return pooled
    serial = sync_to_async(call, thread_sensitive=False, executor=_writer)

    @wraps(func)
    async def write(*args, **kwargs):
        return await (serial if _one_writer_at_a_time() else pooled)(*args, **kwargs)

    return write


class OwnDatabaseThreads:
    """For a Channels consumer whose database calls all go through in_db_thread: channels
    would otherwise hop to asgiref's one shared thread before every message (each log batch,
    each invocation) only to close connections this consumer never opens there."""

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


def close_request_thread_connections(**kwargs):
    """At a request's end (settings.CONN_MAX_AGE > 0, i.e. PostgreSQL): asgiref runs each
    request's sync code on a thread of its own that ends with the request, so a persistent
    connection there is never reused, only left open until the dead thread's objects are
    collected; forty learners opening a lesson at once ran PostgreSQL out of connections. The
    database threads and the main thread keep theirs."""
    if getattr(_own, "thread", False) or threading.current_thread() is threading.main_thread():
        return
    for connection in connections.all(initialized_only=True):
        if connection.settings_dict.get("CONN_MAX_AGE") and not connection.in_atomic_block:
            connection.close()
