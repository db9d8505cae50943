"""Names on the channel layer, in one place."""

from django.conf import settings


def worker_channel(function_id):
    """Route every invocation of a function to the worker that holds its pool."""
    shards = settings.SANDBOX_WORKER_SHARDS
    if shards == 1:
        return "sandbox"
    return f"sandbox-{function_id % shards}"


def all_worker_channels():
    shards = settings.SANDBOX_WORKER_SHARDS
    return ["sandbox"] if shards == 1 else [f"sandbox-{n}" for n in range(shards)]


def shard_of(channel):
    """The shard a worker channel serves: N for "sandbox-N", None for the unsharded "sandbox"."""
    prefix = "sandbox-"
    if channel.startswith(prefix) and channel[len(prefix) :].isdigit():
        return int(channel[len(prefix) :])
    return None


def invocation_group(request_id):
    """Who follows an invocation line by line (a playground page): its logs and its end."""
    return f"invocation.{request_id}"


def done_group(request_id):
    """Who only waits for an invocation's end (an API call, a Check, a trigger): no log batches."""
    return f"invocation-done.{request_id}"


def done_groups(request_id):
    return (invocation_group(request_id), done_group(request_id))


def function_group(function_id):
    return f"function.{function_id}"
