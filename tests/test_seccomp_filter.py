"""The seccomp filter's program, run by a small BPF interpreter for both architectures it
describes (the sandbox tests in tests/hostile run it for real on this machine's)."""

import errno
import os
import re
import struct
from pathlib import Path

import pytest

from sandbox.engine import seccomp

EPERM = seccomp.RET_ERRNO | errno.EPERM
ENOSYS = seccomp.RET_ERRNO | errno.ENOSYS
ALLOW = seccomp.RET_ALLOW
KILL = seccomp.RET_KILL_PROCESS
ARCHES = sorted(seccomp.TABLES)
FAMILIES = {"AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17, "AF_ALG": 38, "AF_VSOCK": 40}


def run_filter(machine, nr, args=(), arch=None):
    """What the filter answers for one syscall (struct seccomp_data, little-endian)."""
    table = seccomp.TABLES[machine]
    args = list(args) + [0] * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, table.audit_arch if arch is None else arch, 0, *args)
    raw = seccomp.build_filter(machine)
    program = [struct.unpack_from("<HBBI", raw, i) for i in range(0, len(raw), 8)]
    pc, accumulator = 0, 0
    while True:
        op, jt, jf, k = program[pc]
        if op == seccomp.LD_W_ABS:
            accumulator = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif op == seccomp.RET_K:
            return k
        else:
            taken = {
                seccomp.JEQ_K: accumulator == k,
                seccomp.JGE_K: accumulator >= k,
                seccomp.JSET_K: bool(accumulator & k),
            }[op]
            pc += 1 + (jt if taken else jf)


def number(machine, name):
    return seccomp.TABLES[machine].numbers[name]


@pytest.mark.parametrize("machine", ARCHES)
def test_every_denied_syscall_gets_eperm(machine):
    table = seccomp.TABLES[machine]
    names = [n for n in seccomp.COMMON_DENIED + ("modify_ldt", "uselib") if n in table.numbers]
    assert {name: run_filter(machine, table.numbers[name]) for name in names} == dict.fromkeys(names, EPERM)


@pytest.mark.parametrize("machine", ARCHES)
@pytest.mark.parametrize("call", ["socket", "socketpair"])
def test_sockets_are_unix_only(machine, call):
    assert run_filter(machine, number(machine, call), [1, 1, 0]) == ALLOW
    for family in [*FAMILIES.values(), 0, 3, 44, 45, 46, 255, 2**32 - 1]:
        assert run_filter(machine, number(machine, call), [family, 1, 0]) == EPERM, family


@pytest.mark.parametrize("machine", ARCHES)
def test_personality_may_only_be_asked_or_set_to_per_linux(machine):
    nr = number(machine, "personality")
    assert run_filter(machine, nr, [0xFFFFFFFF]) == ALLOW
    assert run_filter(machine, nr, [0]) == ALLOW
    for persona in (0x0040000, 0x0008, 0x0400000, 0x0200000):  # ADDR_NO_RANDOMIZE, LINUX32, ...
        assert run_filter(machine, nr, [persona]) == EPERM


@pytest.mark.parametrize("machine", ARCHES)
def test_ioctl_is_allowed_but_tiocsti_and_tiocsetd(machine):
    nr = number(machine, "ioctl")
    assert run_filter(machine, nr, [0, 0x5401]) == ALLOW  # TCGETS
    assert run_filter(machine, nr, [0, 0x541B]) == ALLOW  # FIONREAD
    assert run_filter(machine, nr, [0, 0x5412]) == EPERM
    assert run_filter(machine, nr, [0, 0x5423]) == EPERM
    assert run_filter(machine, nr, [0, 0x1_0000_5412]) == EPERM  # the kernel reads 32 bits


@pytest.mark.parametrize("machine", ARCHES)
def test_clone_without_namespaces_runs_clone3_falls_back_and_a_foreign_abi_is_killed(machine):
    assert run_filter(machine, number(machine, "clone"), [0x01200011]) == ALLOW  # fork()'s flags
    assert run_filter(machine, number(machine, "clone"), [0x10000000]) == EPERM  # CLONE_NEWUSER
    assert run_filter(machine, number(machine, "clone3")) == ENOSYS
    assert run_filter(machine, 63) == ALLOW  # read (arm64), uname (x86_64): ordinary calls
    other = seccomp.TABLES[next(m for m in ARCHES if m != machine)].audit_arch
    assert run_filter(machine, 0, arch=other) == KILL
    assert run_filter(machine, 0, arch=0x40000003) == KILL  # i386


def test_the_x32_abi_is_refused_on_x86_64():
    assert run_filter("x86_64", seccomp.X32_SYSCALL_BIT | 41, [2]) == EPERM


def test_an_architecture_without_a_table_gets_no_filter():
    assert seccomp.build_filter("riscv64") is None
    assert seccomp.build_filter("aarch64") and seccomp.build_filter("x86_64")


HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("machine", ARCHES)
def test_the_tables_agree_with_the_kernel_headers(machine):
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed")
    pattern = r"#define __NR(?:3264)?_(\w+)\s+(\d+)"
    defined = {m[1]: int(m[2]) for m in re.finditer(pattern, header.read_text())}
    table = seccomp.TABLES[machine].numbers
    assert {name: defined.get(name) for name in table} == table
    if machine == "aarch64":
        assert "modify_ldt" not in defined and "uselib" not in defined


def test_the_filter_on_this_machine_is_the_one_bubblewrap_gets():
    machine = os.uname().machine
    if machine not in seccomp.TABLES:
        pytest.skip(f"no table for {machine}")
    assert seccomp.build_filter() == seccomp.build_filter(machine)
