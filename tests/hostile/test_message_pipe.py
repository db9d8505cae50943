"""The runtime's private message pipe, attacked from inside the sandbox (isolation level "full").

The pipe carries the runtime's result, error and service-call messages to the parent. A handler
can write to it too. Whatever it writes, the parent ends the invocation with a clear error or
ignores the message, keeps its own memory flat, and gives back every slot. Each test checks the
attack's outcome, that the test process is untouched (`invoke`), that another function still
runs, and (through the `engine` fixture) that no process, cgroup or slot is left behind.
"""

import asyncio
import re

import pytest

from sandbox.engine.pool import Account, AccountLimits, FunctionPool
from tests.hostile.test_hostile import assert_works_again, invoke
from tests.sandbox_helpers import hostile_source, run, spec_for

INVALID = "Runtime.InvalidMessage"
GREETER = "def handler(event, context):\n    return {'hello': event.get('name')}\n"
LISTER = "from coldstart import buckets\ndef handler(event, context):\n    return buckets.list_objects('b')\n"


def another_function_works(engine):
    (record,) = run(engine, GREETER, events=[{"name": "next learner"}], name="another")
    assert record.status == "ok" and record.result == {"hello": "next learner"}
    assert engine.slots.in_use == 0


def rss_kb(field="VmRSS"):
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith(field + ":"))
    return int(line.split()[1])


def reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # VmHWM starts again from the current RSS


async def refuse(spec, op, args):
    """A service that refuses every call, repeating the arguments as a careless one would."""
    raise PermissionError(f"Access Denied: this function may not read bucket {args.get('bucket')!r}")


@pytest.mark.parametrize(
    "forgery", ["not_json", "number", "nan", "missing", "surrogate", "error_shape", "error_string"]
)
def test_a_forged_result_for_the_own_request_id_ends_as_invalid_message(engine, full_isolation, forgery):
    forged, after = invoke(engine, "forged_result.py", [{"forge": forgery}, {}])

    assert forged.status == "error"
    assert forged.error["errorType"] == INVALID
    kind = "error" if forgery.startswith("error") else "result"
    assert forged.error["errorMessage"].startswith(f"The runtime sent a malformed {kind} message: ")
    assert forged.error["errorMessage"].endswith("The execution environment was destroyed.")
    assert forged.result is None  # the handler's real result never counted
    assert forged.logs[-1].startswith(f"REPORT RequestId: {forged.request_id}\t")
    assert_works_again(after, {"real": True}, cold=True)  # a new environment
    another_function_works(engine)


def test_results_for_other_request_ids_are_ignored_whatever_their_payload(engine, full_isolation):
    forged, after = invoke(engine, "wrong_id_result.py", [{"forge": True, "n": 1}, {"n": 2}])

    assert forged.status == "ok", (forged.status, forged.error)
    assert forged.result == {"real": True, "n": 1}
    assert_works_again(after, {"real": True, "n": 2}, cold=False)  # the same, warm environment
    another_function_works(engine)


def test_a_hundred_forged_results_in_a_row_leave_every_slot_free_for_the_others(engine, full_isolation):
    limits = AccountLimits(
        concurrency=8, scale_per_10s=1000, learner_concurrency=8, learner_per_minute=1000, idle_ttl_s=300
    )

    async def scenario():
        account = Account(limits)
        forger = FunctionPool(engine, spec_for(hostile_source("forged_result.py")), account, owner="mallory")
        other = FunctionPool(engine, spec_for(GREETER, name="other"), account, owner="alice")
        try:
            forged = [(await forger.invoke('{"forge": "not_json"}'))[0] for _ in range(100)]
            held = engine.slots.in_use
            leaks = forger.leaks()
            record, _ = await other.invoke('{"name": "alice"}')
            return forged, held, leaks, record
        finally:
            forger.close()
            other.close()

    forged, held, leaks, record = asyncio.run(scenario())
    assert [r.error["errorType"] for r in forged] == [INVALID] * 100
    assert all(r.cold for r in forged)  # each forgery cost its environment
    assert held == 0 and leaks == []
    assert record.status == "ok" and record.result == {"hello": "alice"}


def test_a_service_call_flood_that_never_reads_a_reply_is_ended_and_the_parent_stays_flat(
    engine, full_isolation
):
    engine.services = refuse
    invoke(engine, "service_flood.py", [{"calls": 1}])  # warm the test process's own caches
    before = rss_kb()
    reset_peak_rss()
    # A full vCPU and five seconds: without the limits, replies and calls pile up by the million.
    events = [{"calls": None}, {"calls": 0}]
    flood, after = invoke(engine, "service_flood.py", events, memory_mb=1769, timeout_s=5)
    growth_kb = rss_kb("VmHWM") - before

    assert flood.status == "error"
    assert flood.error["errorType"] == INVALID
    assert "sent a service call before reading the reply to its previous one" in flood.error["errorMessage"]
    assert_works_again(after, {"sent": 0}, cold=True)
    assert growth_kb < 4 * 1024, f"the parent's peak memory grew by {growth_kb} KiB during the flood"
    another_function_works(engine)


def test_refusals_are_short_whatever_the_size_of_the_arguments(engine, full_isolation):
    engine.services = refuse
    library, oversized, raw, after = invoke(
        engine,
        "error_reply_amplifier.py",
        [{"mode": "library"}, {"mode": "oversized"}, {"mode": "raw"}, {}],
        memory_mb=512,
    )

    assert library.status == "ok"
    assert library.result["longest_refusal"] <= 500  # not the 60 000 characters it was sent
    limit = engine.limits.service_call_bytes
    assert oversized.status == "ok"
    refusal = f"The call is over {limit} bytes, the limit of a Coldstart service call."
    assert oversized.result == {"refused": refusal}
    assert raw.status == "error" and raw.error["errorType"] == INVALID
    assert f"a service call is over {limit} bytes" in raw.error["errorMessage"]
    assert_works_again(after, {"calm": True}, cold=True)
    another_function_works(engine)


def test_the_timeout_holds_while_the_parent_answers_a_service_call(engine, full_isolation):
    answered = []

    async def slow(spec, op, args):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            answered.append("cancelled at the deadline")
            raise
        answered.append("after 60 s")
        return {"objects": []}

    engine.services = slow
    (record,) = run(engine, LISTER, timeout_s=1)

    assert record.status == "timeout"
    assert record.error["errorType"] == "Sandbox.Timedout"
    assert re.search(r"Task timed out after 1\.00 seconds$", record.logs[-1])
    assert answered == ["cancelled at the deadline"]
    another_function_works(engine)
