# Attack: burn CPU forever in a tight loop that never returns and never yields.
# Expected: the parent's wall-clock watchdog ends the invocation at the configured
# timeout ("Task timed out after N.NN seconds" after REPORT) and destroys the
# environment; the next invocation is a cold start that works.
def handler(event, context):
    if event.get("spin"):
        n = 0
        while True:
            n += 1
    return "calm"
