# Attack: exhaust file descriptors by opening /dev/null until open() fails. The
# RLIMIT_NOFILE set before exec (1024) stops it with EMFILE (24); the handler catches
# it, closes everything it opened and returns how far it got, so the environment
# (which itself needs fds for its protocol pipes) keeps working for the next invoke.
import errno
import resource


def handler(event, context):
    opened = []
    failure = None
    try:
        while len(opened) < 100_000:
            opened.append(open("/dev/null", "rb"))
    except OSError as exc:
        failure = errno.errorcode.get(exc.errno)
    count = len(opened)
    for handle in opened:
        handle.close()
    return {
        "opened": count,
        "error": failure,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }
