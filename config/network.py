"""This machine's network addresses, for serving a classroom (`make run BIND=0.0.0.0`).

Read from /proc and with one ioctl per interface: nothing is sent on the network. Standard
library only; the settings call it at start-up.
"""

import fcntl
import ipaddress
import socket
import struct
from pathlib import Path

SIOCGIFADDR = 0x8915
ALL_INTERFACES = {"0.0.0.0", "::", ""}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _interface_ipv4(name):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None  # no IPv4 address on this interface
    return socket.inet_ntoa(packed[20:24])


def _default_route_interfaces():
    """Interfaces with an IPv4 default route, lowest metric first."""
    routes = []
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) > 6 and fields[1] == "00000000" and int(fields[3], 16) & 1:  # RTF_UP
            routes.append((int(fields[6]), fields[0]))
    return [name for _, name in sorted(routes)]


def _ipv6_addresses():
    """Global-scope IPv6 addresses (link-local ones need a zone and are useless in a URL)."""
    found = []
    try:
        lines = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[3] == "00":
            address = ipaddress.IPv6Address(int(fields[0], 16))
            if not address.is_loopback:
                found.append(str(address))
    return found


def machine_addresses():
    """Non-loopback addresses of this machine, the one students most likely reach first: the
    IPv4 address of the default route's interface, then other IPv4, then global IPv6."""
    names = [name for _, name in socket.if_nameindex()]
    preferred = _default_route_interfaces()
    ordered = [n for n in preferred if n in names] + [n for n in names if n not in preferred]
    addresses = []
    for name in ordered:
        address = _interface_ipv4(name)
        if address and not ipaddress.IPv4Address(address).is_loopback and address not in addresses:
            addresses.append(address)
    return addresses + [a for a in _ipv6_addresses() if a not in addresses]


def is_loopback(host):
    """True for 127.0.0.1, ::1, localhost (a host as a Host header or a bind address gives it)."""
    host = host_without_port(host).lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_without_port(host):
    if host.startswith("["):
        return host[1 : host.index("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def url_host(address):
    """An address as the host part of a URL: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


def reachable_address(bind):
    """What students should type for a server bound to `bind`: the bind address itself, or for
    every interface the first of machine_addresses(); None when only loopback is served (or the
    machine has no other address)."""
    if bind not in ALL_INTERFACES:
        return None if is_loopback(bind) else bind
    addresses = machine_addresses()
    return addresses[0] if addresses else None


def room_hosts(bind):
    """Host names the server answers to when bound to `bind`, besides loopback ones."""
    if bind not in ALL_INTERFACES:
        return [] if is_loopback(bind) else [url_host(bind)]
    hostname = socket.gethostname()
    names = [url_host(a) for a in machine_addresses()]
    if hostname and not is_loopback(hostname):
        names += [hostname, f"{hostname}.local"]  # mDNS, as phones on the same Wi-Fi resolve it
    return names
