# Attack: sleep far past the function timeout (an idle handler, not a busy one, so the
# CPU quota plays no part). Expected: the watchdog still ends the invocation at the
# timeout, the environment is destroyed and the next invocation is cold and works.
import time


def handler(event, context):
    seconds = event.get("sleep", 0)
    if seconds:
        print(f"sleeping {seconds} s with {context.get_remaining_time_in_millis()} ms left")
        time.sleep(seconds)
    return "awake"
