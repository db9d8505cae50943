# Attack: open a socket of a family the network namespace does not separate or that reaches
# kernel code a sandbox never needs: netlink (routing, audit, uevents), AF_ALG (the kernel's
# crypto API, a frequent source of bugs), AF_VSOCK (the hypervisor: not separated by the
# network namespace at all), packet and internet sockets, and less common ones. event["families"]
# maps a name to a family number; the handler tries socket() with SOCK_DGRAM, then SOCK_RAW and
# SOCK_STREAM, and socketpair(). Expected: every one fails with EPERM (the seccomp filter allows
# AF_UNIX only), and AF_UNIX itself still works.
import socket


def attempt(family):
    outcomes = []
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW, socket.SOCK_STREAM):
        try:
            socket.socket(family, kind, 0).close()
            outcomes.append("created")
        except OSError as exc:
            outcomes.append(f"{type(exc).__name__}: {exc.errno}")
    try:
        left, right = socket.socketpair(family, socket.SOCK_STREAM)
        left.close()
        right.close()
        outcomes.append("pair created")
    except OSError as exc:
        outcomes.append(f"pair {type(exc).__name__}: {exc.errno}")
    return outcomes


def handler(event, context):
    return {name: attempt(family) for name, family in event["families"].items()}
