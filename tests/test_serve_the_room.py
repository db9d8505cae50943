"""Serving a classroom: `make run BIND=0.0.0.0` listens on every interface, answers requests for
the machine's own addresses, prints the address students open with a QR code, and every link
and QR code the pages show carries that address (or PUBLIC_URL), even when the teacher's own
browser is on 127.0.0.1. No traffic leaves loopback: the LAN address is only a Host header."""

import html
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from config import network
from config.env import env_origin
from lessons.models import Classroom
from lessons.permissions import INSTRUCTORS
from lessons.qr import qr_svg
from sandbox.models import Function
from tests.live_server import PROCESS_UID_BASE
from tests.qr_decode import decode_terminal
from tests.services import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
LAN = "192.0.2.44"  # a documentation address: never contacted, only named in Host headers


# ------------------------------------------------------------------ addresses
def test_loopback_hosts_are_recognised_with_or_without_a_port():
    for host in ("127.0.0.1", "127.0.0.1:8000", "localhost:8000", "[::1]:8000", "::1", "127.3.4.5"):
        assert network.is_loopback(host), host
    for host in ("192.0.2.44:8000", "classroom.test", "[fd00::2]:80", "10.0.0.1"):
        assert not network.is_loopback(host), host


def test_the_machine_addresses_are_not_loopback_and_the_default_route_comes_first():
    addresses = network.machine_addresses()
    assert not any(network.is_loopback(a) for a in addresses)
    route = Path("/proc/net/route").read_text().splitlines()[1:]
    default = [line.split()[0] for line in route if line.split()[1] == "00000000"]
    if not default:
        pytest.skip("this machine has no default route")
    assert addresses and addresses[0] == network._interface_ipv4(default[0])
    assert network.reachable_address("0.0.0.0") == addresses[0]
    assert network.reachable_address("127.0.0.1") is None
    assert network.reachable_address(LAN) == LAN


@pytest.mark.parametrize(
    ("raw", "value"),
    [("http://classroom.test:8000", "http://classroom.test:8000"), ("https://Coldstart.Example/", "https://coldstart.example"),
     ("http://[fd00::2]:8000", "http://[fd00::2]:8000")],
)  # fmt: skip
def test_public_url_is_a_base_url(monkeypatch, raw, value):
    monkeypatch.setenv("PUBLIC_URL", raw)
    assert env_origin("PUBLIC_URL") == value


@pytest.mark.parametrize(
    "bad", ["classroom.test:8000", "ftp://x", "http://x/lessons", "http://x?y=1", "http://u:p@x", "http://x:port"]
)
def test_public_url_refuses_anything_but_a_base_url_naming_the_variable(monkeypatch, bad):
    monkeypatch.setenv("PUBLIC_URL", bad)
    with pytest.raises(ImproperlyConfigured, match="^PUBLIC_URL="):
        env_origin("PUBLIC_URL")


def settings_under(**env):
    """ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, ROOM_ADDRESS as a fresh process computes them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, s.ROOM_ADDRESS]))"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("BIND", "PUBLIC_URL", "ALLOWED_HOSTS")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    import json

    return json.loads(done.stdout)


def test_binding_every_interface_allows_the_machines_addresses_and_keeps_loopback():
    hosts, origins, room = settings_under(BIND="0.0.0.0", PORT="8123")
    addresses = [network.url_host(a) for a in network.machine_addresses()]
    assert {"127.0.0.1", "localhost", "[::1]", *addresses} <= set(hosts)
    assert {f"http://{a}:8123" for a in addresses} <= set(origins)
    assert room == (network.machine_addresses() or [None])[0]


def test_the_default_bind_allows_loopback_only():
    hosts, origins, room = settings_under()
    assert hosts == ["127.0.0.1", "localhost", "[::1]"] and origins == [] and room is None


def test_public_url_is_allowed_and_trusted():
    hosts, origins, _ = settings_under(PUBLIC_URL="https://coldstart.school.example")
    assert "coldstart.school.example" in hosts and "https://coldstart.school.example" in origins


# ------------------------------------------------------------------ what the pages show
@pytest.fixture
def room(settings):
    """This process's settings as `BIND=0.0.0.0` on a machine whose address is LAN."""
    settings.ROOM_ADDRESS = LAN
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, LAN]
    return settings


@pytest.fixture
def teacher(db):
    user = get_user_model().objects.create_user(username="teacher")
    user.groups.add(Group.objects.get_or_create(name=INSTRUCTORS)[0])
    client = Client(HTTP_HOST="127.0.0.1:8000")  # the teacher's own browser, on the server
    client.force_login(user)
    classroom = Classroom.objects.create(name="Cloud 101", instructor=user)
    function = Function.objects.create(owner=user, name="orders")
    return client, classroom, function


def links_on(page):
    """Every absolute http(s) URL in the page's text and attributes (SVG's namespace aside)."""
    found = set(re.findall(r"https?://[^\s\"'<>]+", html.unescape(page)))
    return sorted(link for link in found if not link.startswith("http://www.w3.org/"))


def expect_every_link_at(page, base):
    links = links_on(page)
    assert links, "the page shows no absolute link"
    strays = [link for link in links if not link.startswith(base + "/")]
    assert not strays, f"links not at {base}: {strays}"


def test_the_dashboard_join_link_and_its_qr_code_carry_the_room_address(room, teacher):
    client, classroom, _ = teacher
    page = client.get(f"/instructor/classrooms/{classroom.join_code}/").content.decode()
    join_url = f"http://{LAN}:8000/lessons/join?code={classroom.join_code}"
    assert f'href="{join_url}"' in html.unescape(page)
    assert str(qr_svg(join_url, scale=4)) in page, "the QR code does not encode the room address"
    expect_every_link_at(page, f"http://{LAN}:8000")


def test_the_demo_page_function_url_and_its_qr_code_carry_the_room_address(room, teacher):
    client, _, function = teacher
    page = client.get(f"/demo/{function.slug}/").content.decode()
    url = f"http://{LAN}:8000/fn/{function.slug}/"
    assert f'id="demo-url">{url}<' in page
    assert str(qr_svg(url)) in page
    expect_every_link_at(page, f"http://{LAN}:8000")


def test_the_playground_and_triggers_pages_show_function_urls_at_the_room_address(room, teacher):
    client, _, function = teacher
    for path in (f"/functions/{function.slug}/", f"/functions/{function.slug}/triggers/"):
        page = client.get(path).content.decode()
        expect_every_link_at(page, f"http://{LAN}:8000")
    triggers = client.get(f"/functions/{function.slug}/triggers/").content.decode()
    assert f'id="public-url">http://{LAN}:8000/fn/{function.slug}/<' in triggers


def test_the_api_returns_urls_at_the_room_address(room, teacher):
    client, _, function = teacher
    body = client.get(f"/api/functions/{function.slug}").json()
    assert body["url"] == f"http://{LAN}:8000/functions/{function.slug}/"
    assert body["invoke_url"] == f"http://{LAN}:8000/api/functions/{function.slug}/invocations"


def test_public_url_wins_over_every_detected_address(room, teacher):
    room.PUBLIC_URL = "https://coldstart.school.example"
    client, classroom, function = teacher
    page = client.get(f"/instructor/classrooms/{classroom.join_code}/").content.decode()
    join_url = f"https://coldstart.school.example/lessons/join?code={classroom.join_code}"
    assert str(qr_svg(join_url, scale=4)) in page
    demo = client.get(f"/demo/{function.slug}/").content.decode()
    expect_every_link_at(demo, "https://coldstart.school.example")


def test_a_page_opened_at_the_lan_address_links_to_it(room, teacher):
    _, classroom, _ = teacher
    client = Client(HTTP_HOST=f"{LAN}:8000")
    client.force_login(classroom.instructor)
    page = client.get(f"/instructor/classrooms/{classroom.join_code}/").content.decode()
    expect_every_link_at(page, f"http://{LAN}:8000")


def test_a_loopback_only_server_keeps_the_address_the_browser_used(settings, teacher):
    settings.ROOM_ADDRESS = None
    client, classroom, _ = teacher
    page = client.get(f"/instructor/classrooms/{classroom.join_code}/").content.decode()
    expect_every_link_at(page, "http://127.0.0.1:8000")


def test_the_browser_mode_says_what_plain_http_changes_only_where_it_applies(room, teacher):
    _, classroom, function = teacher
    lan = Client(HTTP_HOST=f"{LAN}:8000")
    lan.force_login(classroom.instructor)
    page = lan.get(f"/functions/{function.slug}/").content.decode()
    assert 'id="insecure-note"' in page and "SharedArrayBuffer" in page
    local = Client(HTTP_HOST="127.0.0.1:8000")
    local.force_login(classroom.instructor)
    assert 'id="insecure-note"' not in local.get(f"/functions/{function.slug}/").content.decode()
    secure = Client(HTTP_HOST=f"{LAN}:8000")
    secure.force_login(classroom.instructor)
    page = secure.get(f"/functions/{function.slug}/", secure=True).content.decode()
    assert 'id="insecure-note"' not in page


# ------------------------------------------------------------------ the real server
def listening_sockets(port):
    """(address, port) of TCP sockets listening on `port`, from /proc (v4 and v6)."""
    found = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # TCP_LISTEN
                found.add(address)
    return found


@pytest.fixture
def served(tmp_path):
    """`manage.py serve` (what `make run BIND=0.0.0.0` runs), on a free port and its own database."""
    port = free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        BIND="0.0.0.0",
        PORT=str(port),
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        SANDBOX_MAX_ENVIRONMENTS="1",
        SANDBOX_SLOT_UID_BASE=str(PROCESS_UID_BASE + 30),  # see tests/live_server.py
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    env.pop("PUBLIC_URL", None)
    env.pop("ALLOWED_HOSTS", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: listening_sockets(port), what="the server to listen")
        yield port, tmp_path / "serve.log"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
        out.close()


def get(port, path, host):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_served_room_listens_everywhere_answers_its_lan_address_and_prints_its_qr_code(served):
    port, log = served
    assert listening_sockets(port) == {"00000000"}, "not listening on every interface (0.0.0.0)"
    addresses = network.machine_addresses()
    if not addresses:
        pytest.skip("this machine has no address besides loopback")
    address = network.url_host(addresses[0])
    status, body = get(port, "/lessons/", f"{address}:{port}")
    assert status == 200, body
    assert get(port, "/lessons/", f"127.0.0.1:{port}")[0] == 200
    assert get(port, "/lessons/", f"evil.example:{port}")[0] == 400  # DNS rebinding stays refused
    printed = log.read_text()
    url = f"http://{address}:{port}/lessons/"
    assert f"Students open:  {url}" in printed
    assert decode_terminal(printed) == [url], "the terminal QR code does not open the printed URL"
