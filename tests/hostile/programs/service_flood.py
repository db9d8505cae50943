# Attack: flood the parent with Coldstart service calls (buckets.get_object) written straight
# onto the runtime's message pipe, as fast as possible, and never read a reply. The parent
# answers each on the events pipe; once that pipe is full, unread replies would pile up in
# the parent's memory, and a parent that parsed every call as it arrived would queue them
# there too. event["calls"] bounds the flood (None: until stopped).
# Expected: the parent answers one call at a time, notices that a call came before the reply to
# the previous one was read, and ends the invocation as a Runtime.InvalidMessage error,
# destroying the environment; its own memory stays flat.
import itertools
import json

from coldstart import channel


def handler(event, context):
    limit = event.get("calls")
    ids = itertools.count(1) if limit is None else range(1, limit + 1)
    for call_id in ids:
        args = {"bucket": "b", "key": "k"}
        call = {"type": "call", "id": call_id, "op": "buckets.get_object", "args": args}
        channel._messages.write("\n" + json.dumps(call) + "\n")
    return {"sent": limit}
