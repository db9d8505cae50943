"""The seccomp filter, attacked for real inside the sandbox (isolation level "full"): one test per
denied socket family and per denied system call, each checking that what stays allowed still
works. tests/test_seccomp_filter.py checks the same rules on both architectures' tables."""

import dataclasses
import platform
import shutil

import pytest

from sandbox.engine.core import Engine
from tests.hostile.test_hostile import invoke
from tests.sandbox_helpers import hostile_source, run

DENIED = ["PermissionError: 1"] * 3 + ["pair PermissionError: 1"]
FAMILIES = {
    "AF_INET": 2,
    "AF_INET6": 10,
    "AF_KEY": 15,
    "AF_NETLINK": 16,
    "AF_PACKET": 17,
    "AF_RDS": 21,
    "AF_CAN": 29,
    "AF_TIPC": 30,
    "AF_BLUETOOTH": 31,
    "AF_ALG": 38,
    "AF_VSOCK": 40,
    "AF_QIPCRTR": 42,
    "AF_XDP": 44,
    "AF_MCTP": 45,
    "unknown family 46": 46,
}
CALLS = ["personality", "fanotify_init", "kcmp", "pidfd_getfd", "process_madvise", "TIOCSTI", "TIOCSETD"]
if platform.machine() == "x86_64":
    CALLS += ["modify_ldt", "uselib"]
STILL_ALLOWED = {"personality_query": "ok", "personality_linux": "ok", "fionread": "ok"}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_socket_of_any_family_but_af_unix_is_denied(engine, full_isolation, family):
    denied, unix = invoke(
        engine, "socket_families.py", [{"families": {family: FAMILIES[family]}}, {"families": {"AF_UNIX": 1}}]
    )

    assert denied.status == "ok"
    assert denied.result == {family: DENIED}
    assert unix.status == "ok" and not unix.cold
    assert unix.result == {"AF_UNIX": ["created", "created", "created", "pair created"]}


@pytest.mark.parametrize("call", CALLS)
def test_a_denied_system_call_fails_with_eperm(engine, full_isolation, call):
    (record,) = invoke(engine, "denied_syscalls.py", [{"calls": [call]}])

    assert record.status == "ok", (record.status, record.error)
    assert record.result == {"denied": {call: "EPERM"}, "allowed": STILL_ALLOWED}


def test_without_the_filter_the_same_programs_get_through(engine, full_isolation):
    """The control: the EPERMs above come from the filter, not from the host or the namespaces."""
    control = dataclasses.replace(full_isolation, seccomp_filter=None)
    if control.launcher is not None:  # the launcher filters every environment: bubblewrap's, unfiltered
        control = dataclasses.replace(control, launcher=None, bwrap=shutil.which("bwrap"))
    unfiltered = Engine(control, engine.limits, engine.slots, engine.prices)
    sockets, calls = run(
        unfiltered, hostile_source("socket_families.py"), events=[{"families": {"n": 16}}]
    ) + run(unfiltered, hostile_source("denied_syscalls.py"), events=[{"calls": ["personality", "TIOCSTI"]}])

    assert sockets.result["n"][0] == "created"  # a netlink socket
    assert calls.result["denied"] == {"personality": "ok", "TIOCSTI": "ENOTTY"}
