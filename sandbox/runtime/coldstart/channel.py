"""Calls from the handler to the parent, answered on the events pipe during the invocation."""

import itertools
import json

_ids = itertools.count(1)
_events = None
_messages = None


class ServiceError(Exception):
    """The parent refused or failed a call (e.g. no permission on a bucket)."""


def connect(events, messages):
    global _events, _messages
    _events, _messages = events, messages


def call(op, **args):
    if _messages is None:
        raise ServiceError("coldstart services are only available inside a Coldstart environment")
    call_id = next(_ids)
    _messages.write("\n" + json.dumps({"type": "call", "id": call_id, "op": op, "args": args}) + "\n")
    line = _events.readline()
    if not line:
        raise ServiceError("the environment is shutting down")
    reply = json.loads(line)
    if reply.get("type") != "reply" or reply.get("id") != call_id:
        raise ServiceError("unexpected reply on the service channel")
    if "error" in reply:
        raise ServiceError(reply["error"])
    return reply.get("result")
