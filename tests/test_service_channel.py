"""A handler's `coldstart` helpers reach the parent over the private channel, and only it."""

import asyncio

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
