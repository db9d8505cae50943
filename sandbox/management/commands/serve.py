"""`manage.py serve` (what `make run` starts): print the address students open, with a QR code
for phones, then become daphne on BIND:PORT (settings.BIND / settings.PORT, from the
environment: `make run BIND=0.0.0.0 PORT=8000`)."""

import io
import os
import sys

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

    def handle(self, *args, **options):
        self.stdout.write(banner())
        self.stdout.flush()
        if options["print_only"]:
            return
        # config.serve: daphne with the WebSocket message limit that 6 MB events need.
        bind = settings.BIND or "0.0.0.0"
        port = str(settings.PORT)
        argv = [sys.executable, "-m", "config.serve", "-b", bind, "-p", port, "config.asgi:application"]
        os.execv(sys.executable, argv)
