# Attack: cut the runtime off: close stdout and stderr, then leave with os._exit(3),
# skipping every cleanup and never sending a result. Expected: the parent notices the
# process exit, ends the invocation "crashed" with Runtime.ExitError and "Runtime
# exited with error: exit status 3", and the next invocation is a cold start.
import os


def handler(event, context):
    if event.get("exit"):
        os.close(1)
        os.close(2)
        os._exit(3)
    return "still here"
