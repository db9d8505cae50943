# Attack: a memory bomb. With {"bomb": true} the handler allocates 16 MiB blocks and
# writes every byte (so the pages are really resident) until something stops it.
# Expected: the environment's memory cgroup (limit = configured memory) OOM-kills the
# runtime; the invocation ends "oom" with Runtime.OutOfMemory and "Runtime exited with
# error: signal: killed", and the environment is destroyed (the next invoke is cold).
# Without "bomb" the handler just answers, so the same function can be invoked again.
blocks = []


def handler(event, context):
    if event.get("bomb"):
        while True:
            blocks.append(b"\x01" * (16 << 20))
    return {"blocks": len(blocks)}
