"""The variables every sandboxed runtime process starts with, whichever path starts it
(bubblewrap's --setenv, or the launcher's fork): constants only, the same for every function.
The function's own and Lambda's per-function ones come in the init message. Standard library
only: the launcher imports this module too."""

TASK_ROOT = "/var/task"

PROCESS_VARIABLES = {
    "LAMBDA_TASK_ROOT": TASK_ROOT,
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "TZ": ":UTC",
    "LANG": "en_US.UTF-8",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
}
