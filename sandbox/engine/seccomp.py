"""A seccomp-BPF filter, built by hand as raw `struct sock_filter` bytes for `bwrap --seccomp FD`.

Denied (EPERM): debugging other processes, mounting, namespaces, kernel keyrings and modules,
BPF, kexec, perf, io_uring, and AF_INET/AF_INET6/AF_PACKET sockets (AF_UNIX stays allowed).
Any other architecture or the x32 ABI is refused outright. Only x86_64 is described; on other
machines `build_filter()` returns None and the isolation level says so.
"""

import errno
import platform
import struct

# BPF opcodes (linux/filter.h, linux/seccomp.h)
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

OFFSET_NR = 0
OFFSET_ARCH = 4


def _arg_low(index):
    return 16 + 8 * index  # low 32 bits of args[index], little-endian


X86_64_DENIED = {
    "ptrace": 101,
    "syslog": 103,
    "vhangup": 153,
    "pivot_root": 155,
    "chroot": 161,
    "acct": 163,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "lookup_dcookie": 212,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}
SYS_SOCKET = 41
SYS_CLONE = 56
SYS_CLONE3 = 435
DENIED_SOCKET_FAMILIES = (2, 10, 17)  # AF_INET, AF_INET6, AF_PACKET
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET


def _stmt(code, k):
    return (code, 0, 0, k)


def _jump(code, k, jt, jf):
    return (code, jt, jf, k)


def _program():
    eperm = RET_ERRNO | errno.EPERM
    prog = [
        _stmt(LD_W_ABS, OFFSET_ARCH),
        _jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        _stmt(RET_K, RET_KILL_PROCESS),
        _stmt(LD_W_ABS, OFFSET_NR),
        _jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
        _stmt(RET_K, eperm),
        # clone3 passes flags in memory BPF cannot read: make libc fall back to clone().
        _jump(JEQ_K, SYS_CLONE3, 0, 1),
        _stmt(RET_K, RET_ERRNO | errno.ENOSYS),
    ]
    for number in sorted(X86_64_DENIED.values()):
        prog += [_jump(JEQ_K, number, 0, 1), _stmt(RET_K, eperm)]
    # socket(family, ...): deny network families
    families = len(DENIED_SOCKET_FAMILIES)
    prog.append(_jump(JEQ_K, SYS_SOCKET, 0, families + 3))
    prog.append(_stmt(LD_W_ABS, _arg_low(0)))
    for i, family in enumerate(DENIED_SOCKET_FAMILIES):
        prog.append(_jump(JEQ_K, family, families - i, 0))
    prog.append(_stmt(RET_K, RET_ALLOW))
    prog.append(_stmt(RET_K, eperm))
    # clone(flags, ...): deny new namespaces
    prog.append(_jump(JEQ_K, SYS_CLONE, 0, 3))
    prog.append(_stmt(LD_W_ABS, _arg_low(0)))
    prog.append(_jump(JSET_K, CLONE_NAMESPACE_FLAGS, 0, 1))
    prog.append(_stmt(RET_K, eperm))
    prog.append(_stmt(RET_K, RET_ALLOW))
    return prog


def build_filter():
    """The filter as bytes, or None on an architecture it does not describe."""
    if platform.machine() != "x86_64":
        return None
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in _program())
