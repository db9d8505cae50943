"""A host-wide lease on the block of slot uids a worker runs its sandboxes as.

Several workers on one host (shards, or servers from two checkouts) would otherwise all run
slot n as uid BASE+n, and a uid is shared host-wide: RLIMIT_NPROC counts every process of it, and
below full isolation kill(-1) reaches them all. Each worker takes an exclusive byte-range lock
on [first uid, last uid] of one lock file shared by every worker on the host; a range that
another process holds moves this worker to the next block. The kernel drops the lock when the
process exits, however it exits, so a crashed worker leaves nothing to clean up.

The lock is a POSIX record lock, held per process: the same process may lease the same block
again (e.g. after its engine is rebuilt). POSIX locks vanish when the process closes any
descriptor of the file, so the file is opened once per process and never closed.

With a launcher (sandbox/launcher), the lock file is the launcher's: it hands the worker an open
descriptor of it (`use_lock_file`), and creates an environment only as a uid whose lock the
asking worker holds (F_GETLK names the holder's pid), so a worker cannot run its sandboxes as
another worker's uids.
"""

import fcntl
import os
import tempfile
from pathlib import Path

LOCK_NAME = "coldstart-slot-uids.lock"
UID_MAX = 2**31 - 2
MAX_BLOCKS = 256
_fds = {}
_LAUNCHER_LOCK = "launcher"  # the key of the launcher's lock file in _fds
_kept = []


def use_lock_file(fd):
    """Lease from the file behind `fd` (the launcher's) from now on. Every descriptor of it
    stays open for good: closing one would drop this process's locks on the file."""
    _kept.append(fd)
    _fds.setdefault(_LAUNCHER_LOCK, fd)


def has_lock_file():
    """Whether a launcher's lock file is in use already (one is enough: it is the host's)."""
    return _LAUNCHER_LOCK in _fds


def default_lock_path():
    run = Path("/run")
    directory = run if os.access(run, os.W_OK) else Path(tempfile.gettempdir())
    return directory / LOCK_NAME


class NoUidBlockFree(RuntimeError):
    pass


def lease(base, size, path=None):
    """The first uid of a block of `size` uids, from `base` upwards, that no other process on
    this host holds; this process holds it until it exits."""
    if path is None and _LAUNCHER_LOCK in _fds:
        path = _LAUNCHER_LOCK
    path = Path(path or default_lock_path()) if path != _LAUNCHER_LOCK else path
    fd = _fds.get(path)
    if fd is None:
        fd = _fds[path] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    for block in range(MAX_BLOCKS):
        first = base + block * size
        if first + size - 1 > UID_MAX:
            break
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, size, first, os.SEEK_SET)
        except OSError:
            continue  # another worker on this host runs sandboxes as (some of) these uids
        return first
    raise NoUidBlockFree(
        f"no block of {size} slot uids from {base} up is free on this host: "
        "other Coldstart workers hold them all (set SANDBOX_SLOT_UID_BASE elsewhere)"
    )
