"""`manage.py serve` (what `make run` starts): print the address students open, with a QR code
for phones, then become daphne on BIND:PORT (settings.BIND / settings.PORT, from the
environment: `make run BIND=0.0.0.0 PORT=8000`).

As root with `--web-user NAME` (what `make run` passes as root; not with SANDBOX_SPAWN=bwrap,
whose worker needs root itself), privileges are separated
(config/privileges.py): the sandbox launcher alone runs as root; daphne, and with `--workers N`
N `runworker sandbox` processes, run as that user, and this command stays to stop them all."""

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import segno
from django.conf import settings
from django.core.management.base import BaseCommand

from config.network import ALL_INTERFACES, room_hosts, url_host

STUDENT_PATH = "/lessons/"


def student_urls():
    """The URL students should open first, then other addresses that reach this server."""
    if settings.PUBLIC_URL:
        return [settings.PUBLIC_URL + STUDENT_PATH]
    if not settings.ROOM_ADDRESS:
        return []
    port = "" if settings.PORT == 80 else f":{settings.PORT}"
    first = f"http://{url_host(settings.ROOM_ADDRESS)}{port}{STUDENT_PATH}"
    others = [f"http://{host}{port}{STUDENT_PATH}" for host in room_hosts(settings.BIND)]
    return [first, *[url for url in others if url != first]]


def terminal_qr(url):
    """The QR code in Unicode half blocks (two modules per character), or "" when the terminal
    cannot print them."""
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    text = out.getvalue()
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return ""
    return text


def banner():
    where = "every interface" if settings.BIND in ALL_INTERFACES else settings.BIND
    urls = student_urls()
    if not urls:
        return (
            f"Coldstart on http://{url_host(settings.BIND)}:{settings.PORT}/ (this machine only; "
            "`make run BIND=0.0.0.0` serves a classroom)\n"
        )
    lines = [f"Coldstart listens on {where}, port {settings.PORT}.", "", f"Students open:  {urls[0]}"]
    qr = terminal_qr(urls[0])
    if qr:
        lines += ["", qr.rstrip("\n"), ""]
    if len(urls) > 1:
        lines.append("Also reachable at: " + "  ".join(urls[1:]))
    if urls[0].startswith("http://"):
        lines.append(
            "Plain HTTP: in-browser runs cannot be interrupted at their timeout (no SharedArrayBuffer); "
            "they are terminated instead. See README, 'Running a class'."
        )
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the address (and QR code) students open, then serve Coldstart with daphne on BIND:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--print-only", action="store_true", help="print the banner and exit")
        parser.add_argument("--web-user", help="as root: run the web process (and workers) as this user, "
                            "created if missing; only the sandbox launcher keeps root")
        parser.add_argument("--workers", type=int, default=0,
                            help="with --web-user: also run N `runworker sandbox` processes (REDIS_URL)")

    def handle(self, *args, **options):
        self.stdout.write(banner())
        self.stdout.flush()
        if options["print_only"]:
            return
        # config.serve: daphne with the WebSocket message limit that 6 MB events need.
        bind = settings.BIND or "0.0.0.0"
        port = str(settings.PORT)
        argv = [sys.executable, "-m", "config.serve", "-b", bind, "-p", port, "config.asgi:application"]
        separate = options["web_user"] and os.geteuid() == 0 and settings.SANDBOX["SPAWN"] == "launcher"
        if separate:  # with SANDBOX_SPAWN=bwrap the worker needs root itself: served as before
            sys.exit(serve_separated(options["web_user"], argv, options["workers"]))
        os.execv(sys.executable, argv)


def serve_separated(name, daphne, workers):
    """The launcher as root, daphne and the workers as `name`; until one of them stops."""
    from config import privileges
    from sandbox.worker.config import cgroup_group

    user = privileges.web_user(name)
    data_dir = settings.DATA_DIR
    if data_dir.resolve() == settings.BASE_DIR.resolve():
        data_dir = settings.BASE_DIR / "var" / "data"  # the checkout itself is never the web user's
    privileges.prepare_data_dir(data_dir)
    needed = [os.path.realpath(sys.executable), settings.BASE_DIR / "manage.py"]
    if not privileges.can_reach(user, *needed):
        for path in needed:
            privileges.let_reach(user, path)
    owned = [data_dir, settings.LAYERS["ROOT"]]
    if not settings.DATABASE_URL:
        database = Path(settings.DATABASES["default"]["NAME"])
        owned += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    privileges.give(user, *owned)
    launcher, socket, _alive = privileges.start_launcher(
        user, settings.INSTANCE, cgroup_group(), settings.SANDBOX["HOST_MEMORY_MB"]
    )
    env = privileges.user_environment(user, socket, data_dir)
    privileges.say(f"The web process runs as {user.pw_name} (uid {user.pw_uid}); the launcher as root")
    run = dict(cwd=settings.BASE_DIR, env=env, **privileges.as_user(user))
    processes = [subprocess.Popen(daphne, **run)]
    processes += [
        subprocess.Popen([sys.executable, "manage.py", "runworker", "sandbox"], **run) for _ in range(workers)
    ]

    def stop(number=None, frame=None):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, stop)
    code = 0
    while all(p.poll() is None for p in processes):
        try:  # until any child exits (daphne, a worker or the launcher); reaped below
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if launcher.poll() is not None:
            privileges.say("The sandbox launcher stopped")
            code = 1
            break
    stop()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    os.close(_alive)  # the launcher stops, and every environment with it
    launcher.wait(timeout=15)
    return code or max((p.returncode or 0) for p in processes)
