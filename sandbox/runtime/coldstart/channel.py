"""Calls from the handler to the parent, answered on the events pipe during the invocation.

One call at a time (threads take turns): the parent ends an environment that sends a call before
reading the reply to its previous one. A call longer than the parent accepts is refused here.
"""

import itertools
import json
import threading

_ids = itertools.count(1)
_events = None
_messages = None
_max_bytes = None
_lock = threading.Lock()


class ServiceError(Exception):
    """The parent refused or failed a call (e.g. no permission on a bucket)."""


def connect(events, messages, max_bytes=None):
    global _events, _messages, _max_bytes
    _events, _messages, _max_bytes = events, messages, max_bytes


def call(op, **args):
    if _messages is None:
        raise ServiceError("coldstart services are only available inside a Coldstart environment")
    with _lock:
        call_id = next(_ids)
        line = json.dumps({"type": "call", "id": call_id, "op": op, "args": args})
        if _max_bytes is not None and len(line.encode()) > _max_bytes:
            raise ServiceError(f"The call is over {_max_bytes} bytes, the limit of a Coldstart service call.")
        _messages.write("\n" + line + "\n")
        line = _events.readline()
    if not line:
        raise ServiceError("the environment is shutting down")
    reply = json.loads(line)
    if reply.get("type") != "reply" or reply.get("id") != call_id:
        raise ServiceError("unexpected reply on the service channel")
    if "error" in reply:
        raise ServiceError(reply["error"])
    return reply.get("result")
