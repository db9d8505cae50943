# Attack: fill /tmp (a size-capped tmpfs, 512 MB like Lambda's default ephemeral
# storage). With {"fill": true} the handler writes 64 MiB files until a write fails,
# catches the OSError and returns its errno: ENOSPC (28) once the tmpfs cap is reached
# (run with enough memory, e.g. 1024 MB, so the memory cgroup is not hit first; tmpfs
# pages are charged to it). Any other event reports what /tmp holds now: the files
# persist across warm invocations, and the environment keeps working.
import errno
import os


def handler(event, context):
    if event.get("fill"):
        block = b"\x02" * (1 << 20)
        written = 0
        n = 0
        try:
            while True:
                with open(f"/tmp/fill-{n}", "wb") as handle:
                    for _ in range(64):
                        handle.write(block)
                        written += len(block)
                n += 1
        except OSError as exc:
            return {
                "errno": exc.errno,
                "name": errno.errorcode.get(exc.errno),
                "written_mb": written >> 20,
            }
    stat = os.statvfs("/tmp")
    return {
        "files": sorted(os.listdir("/tmp")),
        "size_mb": stat.f_blocks * stat.f_frsize >> 20,
        "free_mb": stat.f_bavail * stat.f_frsize >> 20,
    }
