# Attack: call dangerous syscalls directly through ctypes, bypassing any Python-level
# guard: ptrace(PTRACE_ATTACH) on pid 1 and ptrace(PTRACE_TRACEME), mount() of a
# tmpfs over /tmp, and unshare(CLONE_NEWUSER) to gain capabilities in a new user
# namespace. The seccomp filter answers each with -1 and errno EPERM.
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_TRACEME = 0
PTRACE_ATTACH = 16
CLONE_NEWUSER = 0x10000000


def call(function, *args):
    ctypes.set_errno(0)
    result = function(*args)
    return {"result": result, "errno": errno.errorcode.get(ctypes.get_errno())}


def handler(event, context):
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    return {
        "ptrace_attach": call(libc.ptrace, PTRACE_ATTACH, 1, None, None),
        "ptrace_traceme": call(libc.ptrace, PTRACE_TRACEME, 0, None, None),
        "mount": call(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None),
        "unshare": call(libc.unshare, CLONE_NEWUSER),
    }
