# Attack: flood the log with far more output than the per-invocation cap (1 MiB):
# event["lines"] lines of about 1 KiB, alternately through print() and through
# os.write() straight to fd 2, then return normally; {"forever": true} never stops.
# Expected: the parent keeps draining the pipe (the handler never blocks on a full
# pipe), keeps only the first 1 MiB of log lines, adds one "[coldstart] Output
# truncated" notice and discards the rest. A finite flood still ends "ok" with the
# handler's result; an endless one ends at the timeout like any other runaway handler.
import itertools
import os
import sys


def handler(event, context):
    chunk = "x" * 1000
    lines = itertools.count() if event.get("forever") else range(event.get("lines", 0))
    written = 0
    for i in lines:
        if i % 2:
            os.write(2, f"{i:08d} {chunk}\n".encode())
        else:
            print(f"{i:08d} {chunk}")
        written += 1
    sys.stdout.flush()
    return {"written": written}
