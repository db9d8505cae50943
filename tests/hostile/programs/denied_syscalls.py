# Attack: call, through ctypes and syscall(2) so no Python guard is in the way, the system
# calls a sandbox never needs and that have a history of kernel bugs or escapes: modify_ldt
# (segment descriptors), uselib, personality() changes (e.g. turning off address
# randomisation), fanotify_init (watching files), kcmp (comparing other processes' kernel
# objects), pidfd_getfd (taking a process's file descriptors), process_madvise, and the
# TIOCSTI (push characters into a terminal's input) and TIOCSETD (change a line discipline)
# ioctls. event["calls"] lists which. Expected: each fails with EPERM, while the allowed forms
# (personality query and PER_LINUX, an ordinary ioctl) still work.
import ctypes
import errno
import os
import platform
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ARM = platform.machine() == "aarch64"
NR = {
    "modify_ldt": None if ARM else 154,
    "uselib": None if ARM else 134,
    "personality": 92 if ARM else 135,
    "fanotify_init": 262 if ARM else 300,
    "kcmp": 272 if ARM else 312,
    "pidfd_open": 434,
    "pidfd_getfd": 438,
    "process_madvise": 440,
}
TIOCSTI, TIOCSETD, FIONREAD = 0x5412, 0x5423, 0x541B


def syscall(name, *args):
    ctypes.set_errno(0)
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    result = libc.syscall(ctypes.c_long(NR[name]), *args)
    return "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def ioctl(fd, request, argument):
    ctypes.set_errno(0)
    result = libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), argument)
    return "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def attempt(name):
    me = os.getpid()
    if name == "modify_ldt":
        buffer = ctypes.create_string_buffer(16)
        return syscall("modify_ldt", 1, buffer, 16)  # write an LDT entry
    if name == "uselib":
        return syscall("uselib", ctypes.c_char_p(sys.executable.encode()))
    if name == "personality":
        return syscall("personality", 0x0040000)  # ADDR_NO_RANDOMIZE
    if name == "fanotify_init":
        return syscall("fanotify_init", 0x00000200, os.O_RDONLY)  # FAN_REPORT_FID: unprivileged
    if name == "kcmp":
        return syscall("kcmp", me, me, 0, 0, 0)  # KCMP_FILE of our own fd 0
    if name == "pidfd_getfd":
        pidfd = os.pidfd_open(me)
        try:
            return syscall("pidfd_getfd", pidfd, 1, 0)
        finally:
            os.close(pidfd)
    if name == "process_madvise":
        pidfd = os.pidfd_open(me)
        page = ctypes.create_string_buffer(4096)
        iovec = (ctypes.c_void_p * 2)(ctypes.cast(page, ctypes.c_void_p), 4096)
        try:
            return syscall("process_madvise", pidfd, iovec, 1, 20, 0)  # MADV_COLD
        finally:
            os.close(pidfd)
    read_fd, write_fd = os.pipe()
    try:
        if name == "TIOCSTI":
            return ioctl(read_fd, TIOCSTI, ctypes.c_char_p(b"x"))
        if name == "TIOCSETD":
            return ioctl(read_fd, TIOCSETD, ctypes.byref(ctypes.c_int(0)))
    finally:
        os.close(read_fd)
        os.close(write_fd)
    raise ValueError(name)


def still_allowed():
    read_fd, write_fd = os.pipe()
    try:
        return {
            "personality_query": syscall("personality", 0xFFFFFFFF),
            "personality_linux": syscall("personality", 0),
            "fionread": ioctl(read_fd, FIONREAD, ctypes.byref(ctypes.c_int(0))),
        }
    finally:
        os.close(read_fd)
        os.close(write_fd)


def handler(event, context):
    return {"denied": {name: attempt(name) for name in event["calls"]}, "allowed": still_allowed()}
