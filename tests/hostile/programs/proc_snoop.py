# Attack: snoop on other processes through /proc: list every pid, read its command
# line and owner, and try to read pid 1's environment. With a pid namespace only the
# sandbox's own processes (its init and the runtime) are visible: no host process,
# no test runner, no other sandbox.
import os


def handler(event, context):
    processes = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError as exc:
            cmdline, uid = f"<{type(exc).__name__}>", None
        processes[entry] = {"cmdline": cmdline, "uid": uid}
    try:
        with open("/proc/1/environ", "rb") as handle:
            init_environ = handle.read().decode(errors="replace")
    except OSError as exc:
        init_environ = f"<{type(exc).__name__}>"
    return {
        "self": os.getpid(),
        "parent": os.getppid(),
        "uid": os.getuid(),
        "processes": processes,
        "init_environ": init_environ,
    }
