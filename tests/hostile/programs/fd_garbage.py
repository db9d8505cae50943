# Attack: corrupt the runtime's private protocol channel. The handler writes to every
# fd from 3 to 10 and to every other open fd above 2 (found in /proc/self/fd); the pipe
# on which the runtime sends its result to the parent is among them.
# {"mode": "garbage"}: bytes that are no protocol at all (binary junk, invalid JSON,
# invalid UTF-8), the last write without a newline, so the runtime's own result message
# lands on the end of an unterminated junk line.
# {"mode": "forge"}: well-formed forged messages: a result for another request id and
# the parent's internal {"type": "oversize"} marker.
# {"mode": "stale"}: the "oversize" marker and a result for another request id, which are
# still in the channel when the invocation is over and wait for the NEXT invocation. (A result
# for its own request id is not an attack: it is the same as returning, like calling Lambda's
# Runtime API yourself, and it would end the invocation before the handler's next line.)
# Whatever the mode, the handler then returns its real result {"real": true}; any other
# event returns it at once. Every invocation first logs "handling <event's n>".
# Expected: the parent never crashes, every invocation ends with its own handler's real
# result, and nothing the handler writes can stand in for the parent's own verdicts,
# now or in a later invocation.
import json
import os

GARBAGE = [b"\x00\xff junk\n", b"{not json}\n", b"\xfe\xfe\xfe"]
OTHER_RESULT = {"type": "result", "id": "someone-else", "payload": '"forged"'}
OVERSIZE = b'{"type": "oversize"}\n'
RESULT = {"real": True}


def chunks(mode, request_id):
    if mode == "garbage":
        return GARBAGE
    if mode == "forge":
        return [b"\n", (json.dumps(OTHER_RESULT) + "\n").encode(), OVERSIZE]
    return [b"\n", OVERSIZE, (json.dumps(OTHER_RESULT) + "\n").encode()]


def handler(event, context):
    print("handling", event.get("n"))
    mode = event.get("mode")
    if mode:
        outcome = {}
        fds = set(range(3, 11)) | {int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2}
        for fd in sorted(fds):
            try:
                for chunk in chunks(mode, context.aws_request_id):
                    os.write(fd, chunk)
                outcome[fd] = "written"
            except OSError as exc:
                outcome[fd] = type(exc).__name__
        print("writes:", json.dumps(outcome, sort_keys=True))
    return RESULT
