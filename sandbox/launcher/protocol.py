"""The launcher's wire format, used by both sides.

A SOCK_SEQPACKET Unix socket: every message is one datagram (so no length prefix is needed and a
message is never read half), at most MAX_BYTES of UTF-8 JSON holding one object, with file
descriptors attached by SCM_RIGHTS. A request names its `op`; `validate` checks every field's
type and range and refuses anything else, so the launcher acts only on values it understood.

One connection serves one purpose: `hello` (what the launcher offers), or one environment for
its whole life (`create`, then `destroy`). Closing it destroys the environment.
"""

import json
import os
import re
import struct
from _socket import CMSG_SPACE, MSG_CTRUNC, MSG_TRUNC, SCM_RIGHTS, SOL_SOCKET  # no `socket`: see server.py

MAX_BYTES = 4096
INIT_TITLE = "coldstart-init"  # what an environment's pid 1 is called (/proc/1/cmdline)
MAX_FDS = 16
NAME = re.compile(r"^w[0-9]{1,10}-e[0-9]{1,10}$")

# The fds a `create` reply carries, in this order.
REPLY_FDS = ("events", "messages", "output", "status", "pidfd", "freeze", "peak", "oom", "cpu")
REPLY_FDS_WITHOUT_CGROUP = 5

# op -> {field: (type, minimum, maximum)}; every listed field is required, no other is allowed.
REQUESTS = {
    # uid_lock 1: the host's slot-uid lock file comes attached (a worker takes it once: closing
    # any descriptor of that file drops the worker's leases on it)
    "hello": {"uid_lock": (int, 0, 1)},
    "create": {
        "env": (int, 0, 2**31 - 1),
        "uid": (int, 1000, 2**31 - 2),
        "memory_mb": (int, 64, 10240),
        "pids_max": (int, 8, 65536),
        "nofile": (int, 64, 65536),
        "tmp_bytes": (int, 1 << 20, 10240 << 20),
        "cpu_period_us": (int, 1000, 1_000_000),
        "init_quota_us": (int, 1000, 1_000_000 * 1024),
        "quota_us": (int, 1000, 1_000_000 * 1024),
        # 1: the function's layers directory comes attached (SCM_RIGHTS), mounted read-only at /opt
        "layers": (int, 0, 1),
    },
    "destroy": {},
}


class ProtocolError(ValueError):
    pass


def validate(message):
    """The request as a dict of checked values, or ProtocolError saying what is wrong."""
    if not isinstance(message, dict):
        raise ProtocolError("a request is a JSON object")
    op = message.get("op")
    fields = REQUESTS.get(op) if isinstance(op, str) else None
    if fields is None:
        raise ProtocolError(f"unknown op {op!r}")
    extra = set(message) - set(fields) - {"op"}
    if extra:
        raise ProtocolError(f"unexpected fields for {op}: {sorted(extra)}")
    for name, (kind, low, high) in fields.items():
        value = message.get(name)
        if type(value) is not kind:  # bool is an int: refuse it by exact type
            raise ProtocolError(f"{op}.{name} must be {kind.__name__}")
        if not low <= value <= high:
            raise ProtocolError(f"{op}.{name} must be within {low}..{high}")
    return message


def checked_directory(fd):
    """`fd` when it is a directory (the layers for /opt); else ProtocolError."""
    import stat

    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        mode = 0
    if not stat.S_ISDIR(mode):
        raise ProtocolError("the layers descriptor is not a directory")
    return fd


def send(sock, message, fds=()):
    data = json.dumps(message, separators=(",", ":")).encode()
    if len(data) > MAX_BYTES:
        raise ProtocolError("message too large")
    rights = [(SOL_SOCKET, SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
    sock.sendmsg([data], rights)


def receive(sock):
    """(message, fds) of the next datagram; (None, []) at end of stream. A truncated, oversized
    or malformed datagram raises ProtocolError (its fds are closed first)."""
    data, ancillary, flags, _ = sock.recvmsg(MAX_BYTES + 1, CMSG_SPACE(MAX_FDS * 4))
    fds = []
    for level, kind, payload in ancillary:
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds += struct.unpack(f"{usable // 4}i", payload[:usable])
    if flags & (MSG_TRUNC | MSG_CTRUNC) or len(data) > MAX_BYTES:
        close_all(fds)
        raise ProtocolError("message too large")
    if not data:
        close_all(fds)
        return None, []
    try:
        message = json.loads(data)
    except ValueError:
        close_all(fds)
        raise ProtocolError("a message is one JSON object") from None
    return message, fds


def close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
