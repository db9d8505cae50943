"""`make run` as root: privilege separation (docs/architecture.md, "The launcher").

Only the sandbox launcher keeps root. `manage.py serve --web-user NAME` (what `make run` runs as
root) creates that user if it is missing, gives it what the web process writes (COLDSTART_DATA_DIR:
the SQLite database and the secret key; the layers directory), starts the launcher as root on
this instance's socket, and runs daphne (and, with --workers, `runworker sandbox` processes) as
that user. When they stop, the launcher stops, and every environment with it.

    python -m config.privileges data-dir   # as root, before migrate: create COLDSTART_DATA_DIR and
                                           # move an older checkout-level database and key into it

Standard library only, besides the settings the caller passes in.
"""

import os
import pwd
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LAUNCHER = BASE_DIR / "sandbox" / "launcher" / "__main__.py"
RUN_DIR = Path("/run/coldstart")
DATA_FILES = ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", ".secret_key")


def say(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def web_user(name):
    """The unprivileged user the web process runs as, created (as a system user) if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    say(f"Creating the unprivileged user {name!r} that runs the web process")
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                    "/nonexistent", "--shell", "/usr/sbin/nologin", name], check=True)  # fmt: skip
    return pwd.getpwnam(name)


def prepare_data_dir(data_dir):
    """Create the data directory; the first time, move the checkout's database and key into it
    (copies: the old files stay where they were)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if data_dir.resolve() == BASE_DIR.resolve():
        return
    if not (data_dir / "db.sqlite3").exists() and (BASE_DIR / "db.sqlite3").exists():
        for name in DATA_FILES[:3]:
            if (BASE_DIR / name).exists():
                shutil.copy2(BASE_DIR / name, data_dir / name)
        say(f"Copied the database into {data_dir} (the web user's data directory)")
    if not (data_dir / ".secret_key").exists() and (BASE_DIR / ".secret_key").exists():
        shutil.copy2(BASE_DIR / ".secret_key", data_dir / ".secret_key")


def give(user, *paths):
    """Everything in `paths` (never through a symbolic link) to `user`."""
    for path in map(Path, paths):
        if not path.exists() or path.is_symlink():
            continue
        entries = [path]
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                entries += [Path(root) / name for name in dirs + files]
        for entry in entries:
            os.lchown(entry, user.pw_uid, user.pw_gid)


def can_reach(user, *paths):
    """Whether `user` can reach (search every directory above) each path: checked as that user."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - reports through the pipe
        ok = b"0"
        try:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            if all(os.access(p, os.R_OK) for p in paths):
                ok = b"1"
        finally:
            os.write(write, ok)
            os._exit(0)
    os.close(write)
    ok = os.read(read, 1) == b"1"
    os.close(read)
    os.waitpid(child, 0)
    return ok


def let_reach(user, path):
    """Grant `user` search permission (x) on each directory above `path` that denies it, with a
    POSIX ACL entry for that user alone (nobody else gains anything)."""
    for directory in reversed(Path(path).parents):
        mode = directory.stat().st_mode
        if mode & 0o001:
            continue
        try:
            os.getxattr(directory, "system.posix_acl_access")
            raise SystemExit(f"{directory} has an ACL already: grant user {user.pw_name} search "
                             "permission (x) on it, then run again")  # fmt: skip
        except OSError:
            pass
        owner, group = (mode >> 6) & 7, (mode >> 3) & 7
        entries = [(0x01, owner, 0xFFFFFFFF), (0x02, 1, user.pw_uid), (0x04, group, 0xFFFFFFFF),
                   (0x10, group | 1, 0xFFFFFFFF), (0x20, mode & 7, 0xFFFFFFFF)]  # fmt: skip
        acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
        os.setxattr(directory, "system.posix_acl_access", acl)
        say(f"Granted user {user.pw_name} search permission on {directory} (POSIX ACL)")


def launcher_socket(instance):
    """One launcher per instance (checkout): two servers on one host never share one."""
    return RUN_DIR / instance / "launcher.sock"


def start_launcher(user, instance, cgroup_group, memory_limit_mb):
    """The launcher, as root, for `user` only; it stops when the returned pipe's write end (which
    the caller and its children hold) closes. Returns (process, socket path, write end)."""
    socket = launcher_socket(instance)
    RUN_DIR.mkdir(mode=0o755, exist_ok=True)
    socket.parent.mkdir(mode=0o750, exist_ok=True)
    os.chown(socket.parent, 0, user.pw_gid)
    socket.parent.chmod(0o750)
    alive_r, alive_w = os.pipe()
    python = os.path.realpath(sys.executable)
    process = subprocess.Popen(
        [python, "-I", "-S", "-u", str(LAUNCHER), "--socket", str(socket), "--allow-uid", str(user.pw_uid),
         "--socket-group", str(user.pw_gid), "--parent-fd", str(alive_r), "--cgroup-group", cgroup_group,
         "--memory-limit-mb", str(memory_limit_mb)],
        env={}, pass_fds=(alive_r,), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(alive_r)
    deadline = time.monotonic() + 30
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox launcher did not start")
        time.sleep(0.05)
    return process, socket, alive_w


def as_user(user):
    """Popen keywords that run a command as `user`, with no supplementary groups."""
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def user_environment(user, socket, data_dir):
    return dict(os.environ, SANDBOX_LAUNCHER_SOCKET=str(socket), COLDSTART_DATA_DIR=str(data_dir),
                HOME=str(data_dir), USER=user.pw_name, LOGNAME=user.pw_name)  # fmt: skip


def main(argv):
    if argv[:1] == ["data-dir"] and os.geteuid() == 0 and os.environ.get("COLDSTART_DATA_DIR"):
        prepare_data_dir(os.environ["COLDSTART_DATA_DIR"])


if __name__ == "__main__":
    main(sys.argv[1:])
