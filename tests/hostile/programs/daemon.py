# Attack: leave a daemon behind. The handler double-forks; the middle child calls
# setsid() (new session, no controlling terminal, out of the runtime's process group)
# and exits, so the grandchild is re-parented and outlives the handler, looping
# forever. The handler returns the daemon's pid (as seen in the pid namespace).
# Expected: the daemon is frozen with the environment while idle and killed with it
# when the environment is destroyed: nothing of the slot's uid survives.
import os
import time


def handler(event, context):
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        os.setsid()
        daemon = os.fork()
        if daemon == 0:
            os.close(read_end)
            os.write(write_end, f"{os.getpid()}\n".encode())
            os.close(write_end)
            for fd in range(3, 256):
                try:
                    os.close(fd)
                except OSError:
                    pass
            while True:
                time.sleep(0.05)
        os._exit(0)
    os.close(write_end)
    os.waitpid(middle, 0)
    with os.fdopen(read_end) as handle:
        daemon_pid = int(handle.readline())
    return {"daemon_pid": daemon_pid, "daemon_alive": os.path.exists(f"/proc/{daemon_pid}")}
