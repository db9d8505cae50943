# Attack: make the parent build huge error replies by sending service calls whose arguments
# are huge, hoping the refusal repeats them ("Access Denied: ... bucket 'AAAA...'"): each
# call would cost the parent its size again, and more for every call not read.
# event["mode"]:
#   "library": 50 calls through coldstart.buckets with a 60 000-character bucket name (under
#              the call limit); returns the longest refusal the handler saw.
#   "oversized": one call with a 6 MB bucket name through the library: refused in the sandbox.
#   "raw": one 6 MB call line written straight onto the message pipe, then a wait for the reply.
# Expected: refusals are short and never repeat the arguments; a call over the limit is refused
# in the sandbox, and one forced past the runtime ends the invocation as Runtime.InvalidMessage.
import json

from coldstart import buckets, channel
from coldstart.channel import ServiceError

SIX_MB = 6 * 1024 * 1024


def handler(event, context):
    mode = event.get("mode")
    if mode == "library":
        longest = ""
        for _ in range(50):
            try:
                buckets.get_object("A" * 60_000, "key")
            except ServiceError as exc:
                longest = max(longest, str(exc), key=len)
        return {"longest_refusal": len(longest), "echoed": "AAAAAAAAAA" in longest}
    if mode == "oversized":
        try:
            buckets.get_object("A" * SIX_MB, "key")
        except ServiceError as exc:
            return {"refused": str(exc)}
        return {"refused": None}
    if mode == "raw":
        call = {"type": "call", "id": 1, "op": "buckets.get_object", "args": {"bucket": "A" * SIX_MB}}
        channel._messages.write("\n" + json.dumps(call) + "\n")
        return {"reply": len(channel._events.readline())}
    return {"calm": True}
