"""The function's environment variables reach the handler, and nothing else: they travel in the
init message and are set by the runtime itself, so the root-run programs that start a sandbox
(bubblewrap, setpriv) and the interpreter's start-up never see them."""

from tests.hostile.test_hostile import handler_output, invoke
from tests.sandbox_helpers import run

HOSTILE = {
    "LD_PRELOAD": "/nonexistent/evil.so",
    "LD_LIBRARY_PATH": "/tmp",
    "PYTHONSTARTUP": "/tmp/startup.py",
    "PYTHONINSPECT": "1",
}
GREETER = "def handler(event, context):\n    return 'still serving'\n"


def test_loader_and_interpreter_variables_reach_only_the_handler(engine):
    record, again = invoke(engine, "preload_environment.py", [{}, {}], environment=HOSTILE)

    assert record.status == "ok", (record.status, record.error)
    assert not any("LD_PRELOAD" in line or "ld.so" in line for line in record.logs), record.logs
    assert handler_output(record) == []
    assert record.result["at_import"] == "/nonexistent/evil.so"
    assert record.result["os_environ"] == {
        "LD_PRELOAD": "/nonexistent/evil.so",
        "LD_LIBRARY_PATH": "/tmp",
        "PYTHONINSPECT": "1",
    }
    assert not set(HOSTILE) & set(record.result["started_with"])
    assert again.status == "ok" and not again.cold


def test_a_nul_character_in_a_stored_value_is_an_init_error_not_a_stuck_slot(engine):
    (record,) = run(engine, GREETER, environment={"GOOD": "yes", "BAD": "a\x00b"})

    assert record.status == "error"
    assert record.error["errorType"] == "Runtime.InvalidEnvironment"
    assert "'BAD'" in record.error["errorMessage"]
    assert engine.slots.in_use == 0
    (after,) = run(engine, GREETER, environment={"GOOD": "yes"})
    assert after.status == "ok" and after.result == "still serving"
