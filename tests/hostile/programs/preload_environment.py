# Attack: choose environment variables that the programs starting the sandbox would obey if
# they saw them: LD_PRELOAD and LD_LIBRARY_PATH name a library (bubblewrap and setpriv run as
# root before the runtime drops privileges), and PYTHONSTARTUP/PYTHONINSPECT target the
# interpreter. The function is configured with them; the handler reports what it sees.
# Expected: no helper and not the runtime's interpreter ever started with them (the dynamic
# loader complains in the log when LD_PRELOAD names a missing library, and the process's
# initial environment, /proc/self/environ, does not hold them), yet the handler's os.environ
# has them, set before its module was imported, as on Lambda.
import os

AT_IMPORT = os.environ.get("LD_PRELOAD")


def handler(event, context):
    with open("/proc/self/environ", "rb") as handle:
        started_with = sorted(item.split(b"=", 1)[0].decode() for item in handle.read().split(b"\0") if item)
    return {
        "at_import": AT_IMPORT,
        "os_environ": {k: os.environ.get(k) for k in ("LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONINSPECT")},
        "started_with": started_with,
    }
