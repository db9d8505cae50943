from tests.sandbox_helpers import run

COUNTER = """
count = 0
def handler(event, context):
    global count
    count += 1
    print("call", count)
    return {"count": count, "echo": event}
"""


def test_it_runs_a_handler_cold_then_warm(engine):
    records = run(engine, COUNTER, events=[{"a": 1}, {"a": 2}])
    assert [r.status for r in records] == ["ok", "ok"]
    assert [r.cold for r in records] == [True, False]
    assert records[1].result == {"count": 2, "echo": {"a": 2}}
    assert "call 2" in records[1].logs
