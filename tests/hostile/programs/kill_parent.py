# Attack: kill whoever started us. {"target": "parent"} sends SIGKILL to getppid()
# (inside the pid namespace that is the sandbox's init); {"target": "all"} sends
# kill(-1, SIGKILL), which on the host would hit every process the uid may signal.
# Expected: the pid namespace and the per-slot uid confine both to the sandbox, so no
# host process (the test runner, other sandboxes' uids) dies, and the runtime, which
# kill(-1) skips itself, still returns its result.
import os
import signal


def handler(event, context):
    target = event.get("target")
    outcome = {"ppid_before": os.getppid()}
    try:
        if target == "parent":
            os.kill(os.getppid(), signal.SIGKILL)
        elif target == "all":
            os.kill(-1, signal.SIGKILL)
        outcome["kill"] = "sent"
    except OSError as exc:
        outcome["kill"] = type(exc).__name__
    outcome["ppid_after"] = os.getppid()
    return outcome
