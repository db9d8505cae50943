"""The Linux calls Python 3.11's `os` module lacks, through ctypes: namespaces, mounts,
pivot_root, prctl, capabilities and seccomp. Each raises OSError with the call's errno.

x86_64 numbers only where libc has no wrapper (pivot_root, capset); `seccomp.build_filter()`
already refuses other architectures.
"""

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)

# sched.h
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# sys/mount.h
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

# linux/prctl.h
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2

SYS_PIVOT_ROOT = 155
SYS_CAPSET = 126
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long


def _check(result, what):
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


def _b(value):
    return None if value is None else os.fsencode(value)


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def setns(fd, nstype=0):
    _check(_libc.setns(fd, nstype), "setns")


def mount(source, target, fstype, flags=0, data=None):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount2(target, flags=0):
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root, put_old):
    args = (ctypes.c_char_p(_b(new_root)), ctypes.c_char_p(_b(put_old)))
    _check(_libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), *args), "pivot_root")


def open_tree(fd, flags):
    """A detached copy of the mount at `fd` (open_tree(2), OPEN_TREE_CLONE): a descriptor."""
    args = (ctypes.c_int(fd), ctypes.c_char_p(b""), ctypes.c_uint(flags | AT_EMPTY_PATH))
    return _check(_libc.syscall(ctypes.c_long(SYS_OPEN_TREE), *args), "open_tree")


def move_mount_to(tree_fd, target):
    """Attach the detached mount `tree_fd` at `target` (move_mount(2))."""
    args = (ctypes.c_int(tree_fd), ctypes.c_char_p(b""), ctypes.c_int(AT_FDCWD),
            ctypes.c_char_p(_b(target)), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH))
    _check(_libc.syscall(ctypes.c_long(SYS_MOVE_MOUNT), *args), f"move_mount {target}")


def sethostname(name):
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl {option}")


# fcntl.h: F_GETLK on x86_64 (struct flock: type, whence, start, len, pid)
F_GETLK = 5
F_WRLCK = 1
F_UNLCK = 2


class _Flock(ctypes.Structure):
    _fields_ = [("type", ctypes.c_short), ("whence", ctypes.c_short), ("start", ctypes.c_long),
                ("len", ctypes.c_long), ("pid", ctypes.c_int)]


def lock_holder(fd, start, length=1):
    """The pid of a process holding a POSIX record lock on [start, start+length) of the file
    behind `fd`, or None when none does (as fcntl F_GETLK, without loading that module)."""
    query = _Flock(F_WRLCK, 0, start, length, 0)
    _check(_libc.fcntl(fd, F_GETLK, ctypes.byref(query)), "fcntl F_GETLK")
    return None if query.type == F_UNLCK else query.pid


# sys/resource.h: the same numbers on every Linux architecture Coldstart runs on
RLIMIT_FSIZE = 1
RLIMIT_CORE = 4
RLIMIT_NPROC = 6
RLIMIT_NOFILE = 7
RLIMIT_AS = 9


class _Rlimit(ctypes.Structure):
    _fields_ = [("current", ctypes.c_ulong), ("maximum", ctypes.c_ulong)]


def setrlimit(which, value):
    """As resource.setrlimit(which, (value, value)), without loading that module."""
    _check(_libc.setrlimit(which, ctypes.byref(_Rlimit(value, value))), f"setrlimit {which}")


def last_capability():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except OSError:
        return 40  # CAP_CHECKPOINT_RESTORE, the last one in Linux 6.x


def drop_bounding_set(last_cap):
    """Remove every capability from the bounding set (needs CAP_SETPCAP: call as root)."""
    for cap in range(last_cap + 1):
        prctl(PR_CAPBSET_DROP, cap)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def clear_capabilities():
    """Empty the effective, permitted and inheritable sets, and the ambient set."""
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.syscall(ctypes.c_long(SYS_CAPSET), ctypes.byref(header), ctypes.byref(data)), "capset")
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program):
    """Load a BPF program (raw `struct sock_filter` bytes) for this thread and its children.
    Needs no_new_privs (or CAP_SYS_ADMIN)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def argv_region():
    """(address, length) of this process's original argv strings, which /proc/PID/cmdline
    shows; read before the launcher loses its /proc."""
    with open("/proc/self/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (proc(5) fields 48, 49)
    return start, end - start


def set_title(region, args):
    """Rewrite the argv strings in place (as setproctitle does), so `ps` and /proc/PID/cmdline
    name what a forked process has become. Longer titles are cut to the original length."""
    if region is None:
        return
    address, length = region
    raw = b"\0".join(os.fsencode(a) for a in args)[: length - 1]
    ctypes.memmove(address, raw.ljust(length, b"\0"), length)
