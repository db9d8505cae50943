"""A handler's `coldstart` helpers reach the parent over the private channel, and only it."""

import asyncio
from dataclasses import replace

from tests.sandbox_helpers import invoke_many, spec_for

READER = """
from coldstart import buckets
from coldstart.channel import ServiceError

def handler(event, context):
    try:
        body = buckets.get_object(event["bucket"], "hello.txt")
    except ServiceError as exc:
        return {"denied": str(exc)}
    return {"body": body.decode(), "listed": buckets.list_objects(event["bucket"])}
"""


def test_a_handler_reads_a_granted_object_and_is_refused_the_others(engine):
    import base64

    calls = []

    async def services(spec, op, args):
        calls.append((op, args))
        if args["bucket"] != "photos":
            raise PermissionError(f"Access Denied: the function may not read bucket {args['bucket']!r}")
        if op == "buckets.get_object":
            return {"body": base64.b64encode(b"hi there").decode()}
        return {"objects": [{"key": "hello.txt", "size": 8, "etag": "x"}]}

    engine.services = services
    records = asyncio.run(
        invoke_many(engine, spec_for(READER), [{"bucket": "photos"}, {"bucket": "secrets"}])
    )
    assert records[0].result == {"body": "hi there", "listed": [{"key": "hello.txt", "size": 8, "etag": "x"}]}
    assert records[1].result == {"denied": "Access Denied: the function may not read bucket 'secrets'"}
    assert calls[0] == ("buckets.get_object", {"bucket": "photos", "key": "hello.txt"})


def test_without_services_a_call_gets_a_clear_error(engine):
    records = asyncio.run(invoke_many(engine, spec_for(READER), [{"bucket": "photos"}]))
    assert "not available" in records[0].result["denied"]


CALLER = """
from coldstart.channel import ServiceError, call

def handler(event, context):
    outcomes = []
    for _ in range(event["calls"]):
        try:
            result = call(event["op"], size=event.get("size", 0))
            outcomes.append(result if len(result) < 100 else f"{len(result)} characters")
        except ServiceError as exc:
            outcomes.append("refused: " + str(exc))
    return outcomes
"""


async def sized(spec, op, args):
    """Answers with a result of the size asked for, refuses with a long echo, or returns what
    JSON cannot carry."""
    if op == "big":
        return "x" * args["size"]
    if op == "echo":
        raise ValueError("no such thing: " + "y" * args["size"])
    return {"not json": object()}


def test_a_handler_gets_at_most_the_per_invocation_number_of_calls_answered(engine):
    engine.services = sized
    engine.limits = replace(engine.limits, service_calls=3)
    records = asyncio.run(
        invoke_many(
            engine,
            spec_for(CALLER),
            [{"calls": 5, "op": "big", "size": 2}, {"calls": 3, "op": "big", "size": 1}],
        )
    )
    refusal = "refused: Too many Coldstart service calls: at most 3 per invocation."
    assert records[0].result == ["xx", "xx", "xx", refusal, refusal]
    assert records[1].result == ["x", "x", "x"]  # the count is per invocation
    assert not records[1].cold


def test_replies_and_refusals_are_bounded_in_size(engine):
    engine.services = sized
    limit = engine.limits.service_reply_bytes
    events = [
        {"calls": 1, "op": "big", "size": limit + 1},
        {"calls": 1, "op": "big", "size": limit - 100},
        {"calls": 1, "op": "echo", "size": 100_000},
        {"calls": 1, "op": "unserialisable"},
    ]
    too_big, fits, echo, unserialisable = asyncio.run(
        invoke_many(engine, spec_for(CALLER, memory_mb=512), events)
    )
    assert too_big.result == [
        f"refused: The reply is over {limit} bytes, the limit of a Coldstart service reply."
    ]
    assert fits.result == [f"{limit - 100} characters"]
    assert (
        echo.result[0].startswith("refused: no such thing: yyy")
        and len(echo.result[0]) <= len("refused: ") + 500
    )
    assert unserialisable.result == [too_big.result[0]]
    assert all(r.status == "ok" and not r.cold for r in (fits, echo, unserialisable))


THREADS = """
import threading
from coldstart.channel import call

def handler(event, context):
    results = []

    def work(n):
        for _ in range(20):
            results.append(call("big", size=n))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(set(results))
"""


def test_threads_calling_at_once_take_turns_on_the_channel(engine):
    engine.services = sized
    (record,) = asyncio.run(invoke_many(engine, spec_for(THREADS), [{}]))
    assert record.status == "ok", record.error
    assert record.result == ["x", "xx", "xxx", "xxxx"]
