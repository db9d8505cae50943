"""Helpers a handler can import inside Coldstart: `from coldstart import buckets`.

They talk to the parent over the environment's private channel: no network, no host paths.
"""

from . import buckets  # noqa: F401
