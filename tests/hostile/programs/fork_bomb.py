# Attack: a classic fork bomb. With {"bomb": true} every process forks forever and
# ignores failures, so the number of processes grows until something stops it; the
# first time a process sees fork() fail it prints the errno (the cgroup pids limit and
# RLIMIT_NPROC answer EAGAIN). Expected: the pids limit caps the bomb at a few hundred
# processes, the wall-clock timeout fires, and tear-down (stop forks, freeze the
# cgroup, kill, wait until empty) removes every process quickly. Any other event just
# answers, so the function can be invoked again after the bomb.
import errno
import os


def handler(event, context):
    if not event.get("bomb"):
        return "no bomb"
    reported = False
    while True:
        try:
            os.fork()
        except OSError as exc:
            if not reported:
                reported = True
                print(f"fork failed: {errno.errorcode.get(exc.errno, exc.errno)}", flush=True)
