"""Throw-away PostgreSQL and Redis servers for tests: real servers, on loopback, in temporary
directories, with no service manager. Debian's `postgresql` and `redis-server` packages
(scripts/system-deps.sh test) provide the binaries."""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class MissingServer(RuntimeError):
    pass


# ------------------------------------------------------------------ PostgreSQL
def postgres_bindir():
    """Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<major>/bin, off the PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for directory in candidates:
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    raise MissingServer("PostgreSQL is not installed (make test installs Debian's postgresql)")


@contextlib.contextmanager
def postgres_cluster(database="coldstart"):
    """A fresh cluster on a free loopback port; yields its DATABASE_URL. PostgreSQL refuses to
    run as root, so as root the cluster belongs to the `postgres` user."""
    bindir = postgres_bindir()
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    root = Path(tempfile.mkdtemp(prefix="coldstart-pg-"))
    os.chown(root, owner.pw_uid, owner.pw_gid)
    root.chmod(0o700)
    as_owner = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if os.geteuid() == 0 else {}
    port = free_port()
    data = root / "data"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync", "--locale=C"],
            check=True, capture_output=True, cwd=root, **as_owner,
        )  # fmt: skip
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [*pg_ctl, "-l", str(root / "postgres.log"), "-w", "-t", "60", "-o", options, "start"],
            check=True, capture_output=True, cwd=root, **as_owner,
        )  # fmt: skip
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        yield f"postgres://postgres@127.0.0.1:{port}/{database}"
    finally:
        if (data / "postmaster.pid").exists():
            stop = [*pg_ctl, "-m", "immediate", "-w", "stop"]
            subprocess.run(stop, capture_output=True, cwd=root, **as_owner)
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------ Redis
class RedisServer:
    """redis-server on a free loopback port, without persistence; restart() keeps the port."""

    def __init__(self, workdir):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise MissingServer("redis-server is not installed (make test installs it)")
        self.workdir = Path(workdir)
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.answers, what="redis-server")
        return self

    def answers(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self):
        self.stop()
        return self.start()
