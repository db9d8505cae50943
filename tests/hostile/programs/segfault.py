# Attack: crash the interpreter itself with a segmentation fault by reading address 0
# through ctypes. Expected: the runtime dies of SIGSEGV; the invocation ends "crashed"
# with Runtime.ExitError and "Runtime exited with error: signal: segmentation fault",
# and the next invocation is a cold start.
import ctypes


def handler(event, context):
    if event.get("crash"):
        ctypes.string_at(0)
    return "intact"
