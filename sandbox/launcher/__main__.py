"""Start the launcher (as root):

    python -I -S -u sandbox/launcher/__main__.py --socket PATH [--allow-uid UID ...]
        [--socket-group GID] [--min-uid N] [--spares N] [--parent-fd FD]
        [--cgroup-group NAME] [--memory-limit-mb N]

This process is the launcher's supervisor. It prepares what needs the host's view: it forgets
the environment it was given, finds the cgroup hierarchy (its own group directory: one per
Coldstart instance, so two servers from two checkouts never touch each other's environments),
caps the group's memory, sweeps environments whose worker is gone, builds the seccomp filter,
opens the host's slot-uid lock file and listens on the socket. Then it starts the launcher itself
(server.py, a lean interpreter: every environment is a copy of its memory) with those as open
descriptors, and starts a new one whenever it dies: its environments died with it, the socket
stays open, so workers merely wait a moment. `--parent-fd` names a pipe whose other end the
starter holds: when the starter exits, so does the launcher (the worker's private launcher).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))  # -I leaves the script's own directory out

from sandbox.engine import cgroups, seccomp, uidlease  # noqa: E402

SERVER = Path(__file__).resolve().parent / "server.py"
RESTART_PAUSE_S = 0.2
HOST_MOUNTS = None  # an open descriptor of the host's mount namespace, once main() runs


def parse(argv):
    parser = argparse.ArgumentParser(prog="launcher", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--socket", required=True, help="path of the Unix socket to listen on")
    parser.add_argument("--allow-uid", type=int, action="append", default=[],
                        help="a uid allowed to connect (repeatable; root always is)")
    parser.add_argument("--socket-group", type=int, default=None, help="group owning the socket")
    parser.add_argument("--min-uid", type=int, default=60000, help="lowest slot uid allowed")
    parser.add_argument("--spares", type=int, default=None,
                        help="environments kept ready before anyone asks (default 4; 0: none)")
    parser.add_argument("--parent-fd", type=int, default=None)
    parser.add_argument("--cgroup-group", default=cgroups.GROUP_DIR,
                        help="the directory environment cgroups go in (coldstart-INSTANCE)")
    parser.add_argument("--memory-limit-mb", type=int, default=None,
                        help="cap the memory of all environments together (the host's budget)")
    return parser.parse_args(argv)


def listen(path, group):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    if group is not None:
        os.chown(path, 0, group)
        os.chmod(path, 0o660)
    listener.listen(128)
    return listener


def cgroup_directories(group):
    """(version, {controller: open directory}) or (None, {}) without a usable hierarchy."""
    version = cgroups.detect_version(group)
    if version is None:
        return None, {}
    bases = cgroups._v1_bases(group) if version == 1 else {"": cgroups._v2_base(group)}
    fds = {}
    for controller, base in bases.items():
        base.mkdir(exist_ok=True)
        if version == 2:
            cgroups._enable_v2_controllers(base)
        fds[controller] = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    return version, fds


def filter_fd():
    program = seccomp.build_filter()
    if program is None:
        return None
    fd = os.memfd_create("seccomp")
    os.write(fd, program)
    return fd


def uid_lock_file():
    """The host's slot-uid lock file, the one root workers lease from too."""
    return os.open(uidlease.default_lock_path(), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def server_command(args, listener, version, cgroup_fds, seccomp_fd, watch_fds, lock_fd):
    command = [os.path.realpath(sys.executable), "-I", "-S", "-u", str(SERVER),
               "--listen-fd", str(listener.fileno()), "--min-uid", str(args.min_uid),
               "--uid-lock-fd", str(lock_fd), "--cgroup-group", args.cgroup_group,
               "--host-mounts-fd", str(HOST_MOUNTS)]
    for uid in args.allow_uid:
        command += ["--allow-uid", str(uid)]
    if args.spares is not None:
        command += ["--spares", str(max(0, args.spares))]
    if version is not None:
        command += ["--cgroup-version", str(version)]
        for controller, fd in cgroup_fds.items():
            command += ["--cgroup", f"{controller}={fd}"]
    if seccomp_fd is not None:
        command += ["--seccomp-fd", str(seccomp_fd)]
    for fd in watch_fds:
        command += ["--watch-fd", str(fd)]
    return command


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        sys.exit("the launcher must run as root")
    os.environ.clear()
    listener = listen(args.socket, args.socket_group)
    seccomp_fd = filter_fd()
    lock_fd = uid_lock_file()
    global HOST_MOUNTS
    HOST_MOUNTS = os.open("/proc/self/ns/mnt", os.O_RDONLY)  # layers are cloned from here
    if args.memory_limit_mb and cgroups.limit_base(args.memory_limit_mb << 20, args.cgroup_group) is None:
        print(f"coldstart launcher: cannot limit the environments to {args.memory_limit_mb} MB",
              file=sys.stderr, flush=True)
    stopping = False
    current = None

    def stop(number, frame):
        nonlocal stopping
        stopping = True
        if current is not None and current.poll() is None:
            current.terminate()

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, stop)
    # The server exits when this process does: it watches a pipe whose write end only we hold
    # (and, for a private launcher, our starter's pipe the same way).
    alive_r, alive_w = os.pipe()
    while not stopping:
        cgroups.sweep_stale(args.cgroup_group)  # environments of workers that died meanwhile
        version, cgroup_fds = cgroup_directories(args.cgroup_group)
        # The server names each environment it creates or removes on this socket: if it dies,
        # we kill and remove what it left (a frozen environment cannot even die by itself).
        notes_ours, notes_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        passed = [listener.fileno(), alive_r, notes_theirs.fileno(), lock_fd, HOST_MOUNTS,
                  *cgroup_fds.values()]
        if seccomp_fd is not None:
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            passed.append(seccomp_fd)
        watch = [alive_r] if args.parent_fd is None else [alive_r, args.parent_fd]
        passed += watch[1:]
        command = server_command(args, listener, version, cgroup_fds, seccomp_fd, watch, lock_fd)
        command += ["--notes-fd", str(notes_theirs.fileno())]
        current = subprocess.Popen(command, env={}, pass_fds=passed)
        notes_theirs.close()
        for fd in cgroup_fds.values():
            os.close(fd)
        live = follow(current, notes_ours)
        notes_ours.close()
        code = current.wait()
        for name in live:
            cgroups.Cgroup(name, version, args.cgroup_group).destroy()
        if stopping or code == 0:
            break
        if args.parent_fd is not None and _closed(args.parent_fd):
            break
        print(f"coldstart launcher exited with {code}; its {len(live)} environment(s) were removed; "
              "starting a new one", file=sys.stderr, flush=True)
        time.sleep(RESTART_PAUSE_S)
    os.close(alive_w)
    if current is not None and current.poll() is None:
        current.wait()
    try:
        os.unlink(args.socket)
    except OSError:
        pass


def follow(server, notes):
    """The environments the server has and has not removed, until it exits."""
    import select

    live = set()
    pidfd = os.pidfd_open(server.pid)
    try:
        while True:
            try:
                ready, _, _ = select.select([pidfd, notes], [], [])
            except InterruptedError:
                continue
            if notes in ready:
                note = notes.recv(256).decode(errors="replace")
                if note[:1] == "+":
                    live.add(note[1:])
                elif note[:1] == "-":
                    live.discard(note[1:])
                elif not note and pidfd not in ready:
                    select.select([pidfd], [], [])
                    return live
            if pidfd in ready:
                return live
    finally:
        os.close(pidfd)


def _closed(fd):
    import select

    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


if __name__ == "__main__":
    main()
