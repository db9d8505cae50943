# Attack: write the runtime's own "result" (or "error") message for the CURRENT request id
# straight onto the runtime's private message pipe, malformed: a payload that is not JSON
# text, a payload of the wrong type, NaN (not JSON), a lone surrogate (not text), or an error
# object of the wrong shape (event["forge"] says which). The parent used to parse such a payload, raise, and leak the
# environment's slot for good. The handler then lingers as if nothing happened.
# Expected: the invocation ends at once as a Runtime.InvalidMessage error, the environment is
# destroyed (the next invocation is a cold start that works) and nothing is left behind.
import json
import time

from coldstart import channel

FORGERIES = {
    "not_json": {"type": "result", "payload": "{this is not json"},
    "number": {"type": "result", "payload": 42},
    "nan": {"type": "result", "payload": "NaN"},
    "missing": {"type": "result"},
    "surrogate": {"type": "result", "payload": "\ud800"},
    "error_shape": {"type": "error", "error": {"errorMessage": ["not", "a", "string"]}},
    "error_string": {"type": "error", "error": "just a string"},
}


def handler(event, context):
    forgery = event.get("forge")
    if forgery:
        message = dict(FORGERIES[forgery], id=context.aws_request_id)
        channel._messages.write("\n" + json.dumps(message) + "\n")
        time.sleep(0.5)
    return {"real": True}
