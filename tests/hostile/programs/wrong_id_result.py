# Attack: write result and error messages for request ids that are not the current one onto
# the runtime's private message pipe, with payloads that would crash a parent that parsed them:
# another request's id with a non-JSON payload, ids of the wrong type (a list, an object, a
# number, null), and an error object of the wrong shape for another id. Then return normally.
# Expected: none of them ends or changes the invocation: it returns the handler's own real
# result, the environment stays warm, and the next invocation (warm) works.
import json

from coldstart import channel

FORGED = [
    {"type": "result", "id": "someone-else", "payload": "{not json"},
    {"type": "result", "id": ["a", "list"], "payload": "[]"},
    {"type": "result", "id": {"an": "object"}, "payload": "[]"},
    {"type": "result", "id": 7, "payload": 7},
    {"type": "result", "id": None},
    {"type": "error", "id": "someone-else", "error": {"errorMessage": 12}},
    {"type": ["result"], "id": "whatever"},
]


def handler(event, context):
    if event.get("forge"):
        for message in FORGED:
            channel._messages.write("\n" + json.dumps(message) + "\n")
    return {"real": True, "n": event.get("n")}
