"""The filesystem an environment sees, built the way bubblewrap builds it (docs/architecture.md §5).

`build_template` runs once, in the launcher: a read-only tmpfs root holding read-only binds of
/usr, the interpreter's prefix and the runtime (at /var/runtime), a /dev with the six harmless
device nodes, and empty /proc, /tmp, /opt and /var/task; then the launcher pivots into it, so from
then on it sees nothing of the host either. Every environment starts from a copy of this mount
tree (its own mount namespace) and adds what is its own: `private_mounts` (a size-capped
/tmp and /var/task, a new /dev/pts) and, from inside its pid namespace, `mount_proc`.
"""

import os

from sandbox.launcher import linux

TASK_ROOT = "/var/task"
RUNTIME_MOUNT = "/var/runtime"
TASK_BYTES = 64 << 20
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {
    "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
    "fd": "/proc/self/fd", "core": "/proc/kcore", "ptmx": "pts/ptmx",
}  # fmt: skip
# Old /proc corners bubblewrap covers read-only (sysrq-trigger could reboot the host).
PROC_COVERED = ("sys", "sysrq-trigger", "irq", "bus")
SAFE = linux.MS_NOSUID | linux.MS_NODEV


def _bind_read_only(source, target, flags=SAFE):
    linux.mount(source, target, None, linux.MS_BIND | linux.MS_REC)
    linux.mount(None, target, None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | flags)


def _staging_dir(sources):
    """A host directory to build the new root on: one no source lives under."""
    for candidate in ("/tmp", "/mnt", "/run", "/srv"):
        if os.path.isdir(candidate) and not any(
            os.path.commonpath([candidate, s]) == candidate for s in sources
        ):
            return candidate
    raise RuntimeError("no directory to build the sandbox root on")


def build_template(python_prefix, runtime_dir):
    """Enter a private mount namespace and pivot into the sandbox's read-only root."""
    python_prefix = os.path.realpath(python_prefix)
    runtime_dir = os.path.realpath(runtime_dir)
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)  # nothing leaks back to the host
    base = _staging_dir([python_prefix, runtime_dir, "/usr"])
    linux.mount("tmpfs", base, "tmpfs", SAFE, "mode=0755")
    os.chdir(base)
    old_umask = os.umask(0o022)
    try:
        for directory in ("usr", "dev", "proc", "tmp", "opt", "var", "var/task", "var/runtime"):
            os.mkdir(directory, 0o755)
        os.makedirs(python_prefix.lstrip("/"), 0o755, exist_ok=True)
        for link, target in (("lib", "usr/lib"), ("lib64", "usr/lib64"), ("bin", "usr/bin"),
                             ("sbin", "usr/sbin"), ("var/lang", python_prefix)):
            os.symlink(target, link)
        os.chmod("tmp", 0o1777)
        os.chmod("var/task", 0o1777)
        _bind_read_only("/usr", "usr")
        _bind_read_only(python_prefix, python_prefix.lstrip("/"))
        _bind_read_only(runtime_dir, "var/runtime")
        linux.mount("tmpfs", "dev", "tmpfs", SAFE, "mode=0755")
        for node in DEVICES:
            open(f"dev/{node}", "w").close()
            linux.mount(f"/dev/{node}", f"dev/{node}", None, linux.MS_BIND | linux.MS_NOSUID)
        for name, target in DEV_LINKS.items():
            os.symlink(target, f"dev/{name}")
        os.mkdir("dev/shm", 0o755)
        os.mkdir("dev/pts", 0o755)
    finally:
        os.umask(old_umask)
    linux.mount(None, "dev", None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | SAFE)
    # pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only ours.
    linux.pivot_root(".", ".")
    linux.umount2(".", linux.MNT_DETACH)
    os.chdir("/")
    linux.mount(None, "/", None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | SAFE)


def private_mounts(tmp_bytes):
    """In an environment's own mount namespace: what belongs to it alone."""
    linux.mount("tmpfs", "/tmp", "tmpfs", SAFE, f"size={tmp_bytes},mode=1777")
    linux.mount("tmpfs", TASK_ROOT, "tmpfs", SAFE, f"size={TASK_BYTES},mode=1777")
    linux.mount("devpts", "/dev/pts", "devpts", linux.MS_NOSUID | linux.MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=620")


def mount_layers(fd, host_mounts):
    """The function's layers (a directory the worker opened and sent) at /opt, read-only; from
    the environment's runtime, still root, in its own mount namespace. The directory is a mount
    of the host's namespace, which a bind from here may not name: the runtime clones it there
    (open_tree) and attaches the copy here (move_mount)."""
    own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        linux.setns(host_mounts, linux.CLONE_NEWNS)
        try:
            tree = linux.open_tree(fd, linux.OPEN_TREE_CLONE | linux.OPEN_TREE_CLOEXEC)
        finally:
            linux.setns(own, linux.CLONE_NEWNS)
    finally:
        os.close(own)
        os.close(fd)
    try:
        linux.move_mount_to(tree, "/opt")
    finally:
        os.close(tree)
    linux.mount(None, "/opt", None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | SAFE)


def resize_tmp(tmp_bytes):
    linux.mount(None, "/tmp", None, linux.MS_REMOUNT | SAFE, f"size={tmp_bytes},mode=1777")


def mount_proc():
    """From inside the environment's pid namespace (its init): a /proc showing only it."""
    flags = SAFE | linux.MS_NOEXEC
    linux.mount("proc", "/proc", "proc", flags)
    for corner in PROC_COVERED:
        path = f"/proc/{corner}"
        if os.path.exists(path):
            _bind_read_only(path, path, flags)
