"""A seccomp-BPF filter, built by hand as raw `struct sock_filter` bytes for `bwrap --seccomp FD`.

Denied (EPERM): debugging other processes, mounting, namespaces, kernel keyrings and modules,
BPF, kexec, perf, io_uring, LDT changes, uselib, fanotify, kcmp, taking another process's file
descriptors (pidfd_getfd) or advising its memory (process_madvise). Allowed only as listed:
socket() and socketpair() for AF_UNIX alone (no internet, netlink, AF_ALG crypto, vsock: the
network namespace does not separate vsock), personality() only to ask or to set PER_LINUX, and
ioctl() for anything but TIOCSTI (typing into a terminal) and TIOCSETD (line disciplines).

Any other architecture or ABI (x32, 32-bit compat) is killed outright. x86_64 and aarch64 are
described; on other machines `build_filter()` returns None and the isolation level says so.
"""

import errno
import platform
import struct
from dataclasses import dataclass

# BPF opcodes (linux/filter.h, linux/seccomp.h)
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000

OFFSET_NR = 0
OFFSET_ARCH = 4

AF_UNIX = 1
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
PER_LINUX = 0
PERSONALITY_QUERY = 0xFFFFFFFF
DENIED_IOCTLS = {"TIOCSTI": 0x5412, "TIOCSETD": 0x5423}

# Denied on every architecture, by name (numbers in the tables below).
COMMON_DENIED = (
    "ptrace", "syslog", "vhangup", "pivot_root", "chroot", "acct", "mount", "umount2", "swapon",
    "swapoff", "reboot", "init_module", "delete_module", "quotactl", "quotactl_fd", "lookup_dcookie",
    "kexec_load", "add_key", "request_key", "keyctl", "unshare", "perf_event_open",
    "name_to_handle_at", "open_by_handle_at", "setns", "process_vm_readv", "process_vm_writev",
    "finit_module", "kexec_file_load", "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr", "fanotify_init", "kcmp", "pidfd_getfd", "process_madvise",
)  # fmt: skip


@dataclass(frozen=True)
class Table:
    """One architecture: its AUDIT_ARCH value and syscall numbers."""

    audit_arch: int
    numbers: dict  # name -> number
    x32_bit: bool = False  # the x32 ABI shares the architecture value: refuse it by number

    def denied(self):
        names = COMMON_DENIED + tuple(n for n in ("modify_ldt", "uselib") if n in self.numbers)
        return sorted(self.numbers[n] for n in names)


# asm/unistd_64.h
X86_64 = Table(
    audit_arch=0xC000003E,
    x32_bit=True,
    numbers={
        "ioctl": 16, "socket": 41, "socketpair": 53, "clone": 56, "ptrace": 101, "syslog": 103,
        "uselib": 134, "personality": 135, "vhangup": 153, "modify_ldt": 154, "pivot_root": 155,
        "chroot": 161, "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
        "reboot": 169, "init_module": 175, "delete_module": 176, "quotactl": 179,
        "lookup_dcookie": 212, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
        "unshare": 272, "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303,
        "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
        "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "clone3": 435, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
        "quotactl_fd": 443,
    },
)  # fmt: skip

# asm-generic/unistd.h (arm64 has neither modify_ldt nor uselib)
AARCH64 = Table(
    audit_arch=0xC00000B7,
    numbers={
        "lookup_dcookie": 18, "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41,
        "chroot": 51, "vhangup": 58, "quotactl": 60, "acct": 89, "personality": 92, "unshare": 97,
        "kexec_load": 104, "init_module": 105, "delete_module": 106, "syslog": 116, "ptrace": 117,
        "reboot": 142, "socket": 198, "socketpair": 199, "add_key": 217, "request_key": 218,
        "keyctl": 219, "clone": 220, "swapon": 224, "swapoff": 225, "perf_event_open": 241,
        "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265, "setns": 268,
        "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272, "finit_module": 273,
        "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435,
        "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443,
    },
)  # fmt: skip

TABLES = {"x86_64": X86_64, "aarch64": AARCH64}


def _arg_low(index):
    return 16 + 8 * index  # low 32 bits of args[index], little-endian


class _Assembler:
    """Instructions with forward jumps to labels (BPF jumps are forward-only, at most 255)."""

    def __init__(self):
        self.code = []  # (op, jt, jf, k), jt/jf a label name, an int, or None
        self.labels = {}

    def stmt(self, op, k):
        self.code.append((op, None, None, k))

    def jump(self, op, k, jt=0, jf=0):
        self.code.append((op, jt, jf, k))

    def label(self, name):
        self.labels[name] = len(self.code)

    def assemble(self):
        program = []
        for index, (op, jt, jf, k) in enumerate(self.code):
            offsets = []
            for target in (jt, jf):
                if isinstance(target, str):
                    target = self.labels[target] - index - 1
                offsets.append(target or 0)
            if not all(0 <= offset <= 255 for offset in offsets):
                raise ValueError(f"BPF jump out of range at instruction {index}: {offsets}")
            program.append((op, offsets[0], offsets[1], k))
        return program


def _program(table):
    eperm = RET_ERRNO | errno.EPERM
    n = table.numbers
    a = _Assembler()
    a.stmt(LD_W_ABS, OFFSET_ARCH)
    a.jump(JEQ_K, table.audit_arch, jt=1)
    a.stmt(RET_K, RET_KILL_PROCESS)
    a.stmt(LD_W_ABS, OFFSET_NR)
    if table.x32_bit:
        a.jump(JGE_K, X32_SYSCALL_BIT, jt="eperm")
    # clone3 passes flags in memory BPF cannot read: make libc fall back to clone().
    a.jump(JEQ_K, n["clone3"], jt="enosys")
    for number in table.denied():
        a.jump(JEQ_K, number, jt="eperm")
    a.jump(JEQ_K, n["socket"], jt="family")
    a.jump(JEQ_K, n["socketpair"], jt="family")
    a.jump(JEQ_K, n["clone"], jt="clone")
    a.jump(JEQ_K, n["personality"], jt="personality")
    a.jump(JEQ_K, n["ioctl"], jt="ioctl")
    a.stmt(RET_K, RET_ALLOW)
    a.label("family")  # socket(family, ...) and socketpair(family, ...): AF_UNIX only
    a.stmt(LD_W_ABS, _arg_low(0))
    a.jump(JEQ_K, AF_UNIX, jt="allow", jf="eperm")
    a.label("clone")  # clone(flags, ...): no new namespaces
    a.stmt(LD_W_ABS, _arg_low(0))
    a.jump(JSET_K, CLONE_NAMESPACE_FLAGS, jt="eperm", jf="allow")
    a.label("personality")  # personality(persona): ask, or PER_LINUX
    a.stmt(LD_W_ABS, _arg_low(0))
    a.jump(JEQ_K, PERSONALITY_QUERY, jt="allow")
    a.jump(JEQ_K, PER_LINUX, jt="allow", jf="eperm")
    a.label("ioctl")  # ioctl(fd, request, ...): the kernel reads request as 32 bits
    a.stmt(LD_W_ABS, _arg_low(1))
    for request in DENIED_IOCTLS.values():
        a.jump(JEQ_K, request, jt="eperm")
    a.label("allow")
    a.stmt(RET_K, RET_ALLOW)
    a.label("eperm")
    a.stmt(RET_K, eperm)
    a.label("enosys")
    a.stmt(RET_K, RET_ERRNO | errno.ENOSYS)
    return a.assemble()


def build_filter(machine=None):
    """The filter as bytes, or None on an architecture it does not describe."""
    table = TABLES.get(machine or platform.machine())
    if table is None:
        return None
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in _program(table))
