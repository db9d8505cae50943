"""The runtime's own message writers (sandbox/runtime/bootstrap.py): the short cut for results
writes the very bytes the general writer does, whatever the request id and payload hold."""

import importlib.util
import io
import sys
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parent.parent / "sandbox" / "runtime" / "bootstrap.py"


@pytest.fixture(scope="module")
def bootstrap():
    spec = importlib.util.spec_from_file_location("coldstart_bootstrap_under_test", BOOTSTRAP)
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)  # puts sandbox/runtime on sys.path, as in the sandbox
    finally:
        sys.path[:] = saved  # its lambda_core stays imported; its `coldstart` shadows nothing
    return module


@pytest.mark.parametrize(
    ("request_id", "payload"),
    [
        ("3f1c9a52-0000-4000-8000-000000000000", '{"ok": true}'),
        ('quote " backslash \\ newline \n tab \t', '"\\u2028 \u2028 é 😀"'),
        ("\ud800 lone surrogate", "\x00\x1f\x7f"),
        ("", ""),
    ],
)
def test_a_result_is_written_as_send_writes_it(bootstrap, request_id, payload):
    general, short = io.StringIO(), io.StringIO()
    bootstrap.send(general, {"type": "result", "id": request_id, "payload": payload})
    bootstrap.send_result(short, request_id, payload)
    assert short.getvalue() == general.getvalue()


def test_results_are_marshalled_as_json_dumps_would(bootstrap):
    import json

    from lambda_core import FaultError, marshal_result  # imported by the bootstrap

    value = {"é": [1, 2.5, None, True], "nested": {"s": "😀"}}
    assert marshal_result(value) == json.dumps(value, ensure_ascii=False, allow_nan=False)
    with pytest.raises(FaultError, match="Unable to marshal response"):
        marshal_result(float("nan"))
    with pytest.raises(FaultError, match="Unable to marshal response"):
        marshal_result({1, 2})
