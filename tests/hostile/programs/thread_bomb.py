# Attack: start threads that never finish until the kernel refuses another one. Each
# thread is a task counted by the cgroup pids limit (and RLIMIT_NPROC), so
# threading.Thread.start() raises RuntimeError("can't start new thread"). The handler
# catches it, returns the message and the count, then releases and joins its threads.
import threading


def handler(event, context):
    release = threading.Event()
    threads = []
    message = None
    try:
        while len(threads) < 10_000:
            thread = threading.Thread(target=release.wait)
            thread.start()
            threads.append(thread)
    except RuntimeError as exc:
        message = str(exc)
    release.set()
    for thread in threads:
        thread.join()
    return {"started": len(threads), "error": message, "alive": threading.active_count()}
