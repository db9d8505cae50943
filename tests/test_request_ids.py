"""Request ids made by the engine are version-4 UUIDs in their usual text form, never repeated."""

import uuid

from sandbox.engine.invocation import new_request_id


def test_request_ids_are_random_uuid4_text():
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text
