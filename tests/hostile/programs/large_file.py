# Attack: create one file larger than RLIMIT_FSIZE without using any space: seek to
# 600 MiB in a new file and write one byte (a sparse file), then also try
# os.truncate() to 1 GiB. The kernel refuses both with EFBIG (27); Python ignores
# SIGXFSZ, so the error arrives as an OSError the handler can catch and return.
import errno
import os
import resource


def handler(event, context):
    outcome = {"fsize_limit": resource.getrlimit(resource.RLIMIT_FSIZE)[0]}
    path = "/tmp/huge"
    try:
        with open(path, "wb") as handle:
            handle.seek(600 << 20)
            handle.write(b"x")
        outcome["seek_write"] = "ok"
    except OSError as exc:
        outcome["seek_write"] = errno.errorcode.get(exc.errno)
    try:
        os.truncate(path, 1 << 30)
        outcome["truncate"] = "ok"
    except OSError as exc:
        outcome["truncate"] = errno.errorcode.get(exc.errno)
    outcome["size"] = os.path.getsize(path)
    os.unlink(path)
    return outcome
