"""One environment's processes, forked from the launcher (docs/architecture.md §5).

    launcher (root)
      └─ monitor     root, host pid namespace. Joins the cgroup, enters new mount, pid, net,
         │           ipc, uts and cgroup namespaces, mounts the private /tmp, /var/task, /dev/pts.
         └─ init     pid 1 of the new pid namespace, root. Mounts /proc; reaps orphans; writes
            │        the runtime's wait status to the status pipe when it exits.
            └─ runtime  pid 2. Waits for its assignment (slot uid, rlimits, pipes) from the
                        launcher; then a new session, rlimits, the slot uid with no
                        capabilities, no_new_privs and the seccomp filter, and only then it
                        reads its init message (the learner's code) and runs the bootstrap.

The launcher builds these ahead of time (spares): a request then only has to assign one, so
the namespaces, mounts and forks are off the path of a cold start. The same shape as
bubblewrap's (outer process, init, child), so the cgroup counts the same tasks. Nothing here
returns: each process ends with os._exit. Every step either succeeds or the process exits at
once, before any learner code is read.
"""

import os
import signal
import struct
import sys
import time

from sandbox.engine.runtime_env import PROCESS_VARIABLES
from sandbox.launcher import linux, protocol, rootfs

NAMESPACES = (linux.CLONE_NEWNS | linux.CLONE_NEWPID | linux.CLONE_NEWNET | linux.CLONE_NEWIPC
              | linux.CLONE_NEWUTS | linux.CLONE_NEWCGROUP)
# The runtime's fds, as the bootstrap expects them (argv: events fd, messages fd).
EVENTS_FD, MESSAGES_FD = 3, 4
BOOTSTRAP_ARGV = ("/var/runtime/bootstrap.py", str(EVENTS_FD), str(MESSAGES_FD))
SETUP_FAILED = 127


class Plan:
    """What a spare's processes need from the launcher: the same for every spare."""

    def __init__(self, *, tmp_bytes, join_fds, assignment, status, seccomp_filter,
                 last_capability, title, python, host_mounts=None):
        self.tmp_bytes = tmp_bytes
        self.join_fds = join_fds
        self.assignment = assignment  # the runtime's end of a socket: its assignment arrives there
        self.status = status
        self.seccomp_filter = seccomp_filter
        self.last_capability = last_capability
        self.title = title
        self.python = python
        self.host_mounts = host_mounts  # the host's mount namespace: where layers are cloned from


def _keep_only(fds):
    """Put `fds` at 3, 4, ... in order and close every other descriptor above 2."""
    high = max([*fds, 2]) + len(fds) + 1
    moved = [os.dup2(fd, high + i, inheritable=False) for i, fd in enumerate(fds)]
    for i, fd in enumerate(moved):
        os.dup2(fd, 3 + i, inheritable=False)
    os.closerange(3 + len(fds), 2**31 - 1)
    return list(range(3, 3 + len(fds)))


def _default_signals():
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def _fail(step, exc):
    try:
        os.write(2, f"[coldstart launcher] environment set-up failed at {step}: {exc}\n".encode())
    finally:
        os._exit(SETUP_FAILED)


def monitor(plan, launcher_pid):
    """The first process (just forked from the launcher)."""
    step = "start"
    try:
        _default_signals()
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher_pid:  # the launcher died before the line above
            os._exit(SETUP_FAILED)
        n_join = len(plan.join_fds)
        host = [plan.host_mounts] if plan.host_mounts is not None else []
        fds = _keep_only([*plan.join_fds, plan.assignment, plan.status, *host])
        join, (assignment, status) = fds[:n_join], fds[n_join : n_join + 2]
        plan.host_mounts = fds[n_join + 2] if host else None  # this process's copy of the plan
        step = "joining the cgroup"
        for fd in join:
            os.write(fd, b"0")
            os.close(fd)
        step = "entering namespaces"
        linux.unshare(NAMESPACES)
        linux.sethostname("localhost")
        step = "mounting /tmp and /var/task"
        rootfs.private_mounts(plan.tmp_bytes)
        os.chdir("/")
        init_pid = os.fork()
    except BaseException as exc:
        _fail(step, exc)
    if init_pid == 0:
        init(plan, assignment, status)
    os.close(assignment)
    os.close(status)
    _close_host_mounts(plan)
    linux.set_title(plan.title, ["coldstart-launcher: environment"])
    while True:
        try:
            pid, _ = os.waitpid(init_pid, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == init_pid:
            os._exit(0)


def init(plan, assignment, status):
    """pid 1 of the environment's pid namespace."""
    step = "start"
    try:
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        step = "mounting /proc"
        rootfs.mount_proc()
        runtime_pid = os.fork()
    except BaseException as exc:
        _fail(step, exc)
    if runtime_pid == 0:
        os.close(status)
        runtime(plan, assignment)
    os.close(assignment)
    _close_host_mounts(plan)
    linux.set_title(plan.title, [protocol.INIT_TITLE])
    while True:  # reap everything; end (and with us the namespace) when the runtime ends
        try:
            pid, wait_status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == runtime_pid:
            try:
                os.write(status, struct.pack("=i", wait_status))
            finally:
                os._exit(0)


def runtime(plan, assignment):
    """pid 2: waits for its assignment, then becomes the Lambda runtime once it holds no
    privilege at all."""
    step = "start"
    try:
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(rootfs.TASK_ROOT)
        linux.set_title(plan.title, ["coldstart-launcher: spare environment"])
        step = "dropping what no runtime needs"  # before the request, off its path
        linux.drop_bounding_set(plan.last_capability)  # nothing gained by any later exec
        os.setgroups([])
        step = "waiting for an assignment"
        task, fds = _assignment(assignment)
        if len(fds) == 4 and plan.host_mounts is not None:
            step = "mounting the layers at /opt"
            rootfs.mount_layers(fds.pop(), plan.host_mounts)
            os.chdir(rootfs.TASK_ROOT)  # entering a mount namespace moved us to its root
        elif len(fds) != 3:
            raise OSError("layers sent, but no host mount namespace to take them from")
        _close_host_mounts(plan)
        high = max(fds) + 3  # out of the way of 1..4 before placing them there
        events, messages, output = (os.dup2(fd, high + i) for i, fd in enumerate(fds))
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(events, EVENTS_FD)
        os.dup2(messages, MESSAGES_FD)
        os.closerange(MESSAGES_FD + 1, 2**31 - 1)  # the assignment socket and the rest
        os.setsid()
        if task["tmp_bytes"] != plan.tmp_bytes:
            step = "resizing /tmp"
            rootfs.resize_tmp(task["tmp_bytes"])
        step = "setting rlimits"
        for which, value in task["rlimits"]:
            linux.setrlimit(which, value)
        linux.set_title(plan.title, [plan.python, "-I", "-S", "-u", *BOOTSTRAP_ARGV])
        step = "dropping privileges"
        uid = task["uid"]
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        linux.clear_capabilities()
        linux.prctl(linux.PR_SET_DUMPABLE, 1)  # as after an exec: /proc/self belongs to us
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        step = "applying the seccomp filter"
        if plan.seccomp_filter is not None:
            linux.install_seccomp(plan.seccomp_filter)
        step = "starting the runtime"
        bootstrap = _as_fresh_interpreter(plan)
    except BaseException as exc:
        _fail(step, exc)
    code = 0
    try:
        bootstrap.main()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    os._exit(_finish(code))


def _close_host_mounts(plan):
    if plan.host_mounts is not None:
        os.close(plan.host_mounts)
        plan.host_mounts = None


def _assignment(sock_fd):
    """The launcher's one message to a spare: {"uid", "rlimits", "tmp_bytes"}, the three
    pipes and maybe the layers directory. Its end of the socket closing first means the spare is
    not needed: exit."""
    from _socket import socket as Socket

    sock = Socket(fileno=sock_fd)
    message, fds = protocol.receive(sock)
    sock.close()
    if message is None or len(fds) not in (3, 4):
        protocol.close_all(fds)
        os._exit(0)
    return message, fds


def _as_fresh_interpreter(plan):
    """Make the forked interpreter look as `python -I -S -u /var/runtime/bootstrap.py 3 4`
    would: its argv, path, environment and __main__; nothing of the launcher's state."""
    import bootstrap  # imported by the launcher from /var/runtime, before any fork

    sys.argv = list(BOOTSTRAP_ARGV)
    sys.orig_argv = [plan.python, "-I", "-S", "-u", *sys.argv]
    sys.executable = plan.python
    sys.path[:] = [rootfs.RUNTIME_MOUNT, *(p for p in sys.path if p.startswith(sys.base_prefix))]
    sys.modules["__main__"] = bootstrap
    for name in [n for n in sys.modules if n == "sandbox" or n.startswith("sandbox.")]:
        del sys.modules[name]
    os.environ.clear()
    os.environ.update(PROCESS_VARIABLES)  # what bubblewrap's --setenv gives the runtime
    os.environ["PWD"] = rootfs.TASK_ROOT  # as bubblewrap's --chdir (and Lambda) leave it
    time.tzset()  # TZ=:UTC
    return bootstrap


def _exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:
        pass
    return 1


def _finish(code):
    """What an interpreter does at exit: wait for non-daemon threads, run atexit, flush."""
    import atexit
    import threading

    try:
        threading._shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return code
