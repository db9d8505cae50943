# Attack: reach the network. Try a raw packet socket (AF_PACKET/SOCK_RAW), a raw IP
# socket (AF_INET/SOCK_RAW), IPv6, and a TCP connection to the port in event["port"]
# on 127.0.0.1, where the test listens. The seccomp filter denies socket() for
# AF_INET, AF_INET6 and AF_PACKET with EPERM (PermissionError), before the network
# namespace would even matter; the listener must never see a connection.
import socket


def attempt(make):
    try:
        sock = make()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.errno}"
    sock.close()
    return "created"


def handler(event, context):
    port = event["port"]

    def tcp():
        sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        sock.sendall(b"escaped")
        return sock

    return {
        "packet_raw": attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x0300)),
        "inet_raw": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
        "inet6_tcp": attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM)),
        "tcp_connect": attempt(tcp),
    }
