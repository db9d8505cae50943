"""The parent's pipe reader and message framer, on real pipes, without a sandbox."""

import asyncio
import json
import os
import time

from sandbox.engine.framing import CALL_TOO_LONG, OVERSIZE, MessageFramer, PipeReader


def pull(framer):
    messages = []
    while (message := framer.next()) is not None:
        messages.append(message)
    return messages


def framed(chunks, limit=1024, call_limit=None):
    framer = MessageFramer(limit, call_limit)
    for chunk in chunks:
        framer.feed(chunk)
    return pull(framer)


def test_a_message_split_across_reads_arrives_whole_with_its_arrival_time():
    [message] = framed([b'{"type": "res', b'ult", "id": "a"}\n'])
    assert message["type"] == "result" and message["id"] == "a"
    assert isinstance(message["_arrived"], float)


def test_lines_that_are_not_json_objects_are_dropped():
    messages = framed([b"garbage\n[1, 2]\n\"text\"\n", b'{"type": "init_done"}\n'])
    assert [m["type"] for m in messages] == ["init_done"]


def test_an_oversized_line_is_dropped_and_reported_once():
    messages = framed([b'{"a": "' + b"x" * 600, b"x" * 600, b'"}\n', b'{"type": "after"}\n'], limit=1000)
    assert messages[0] is OVERSIZE
    assert [m["type"] for m in messages[1:]] == ["after"]


def test_a_child_cannot_forge_the_oversize_marker():
    messages = framed([json.dumps({"type": "OVERSIZE"}).encode() + b"\n"])
    assert all(m is not OVERSIZE for m in messages)


def test_messages_are_parsed_only_when_asked_for_one_at_a_time():
    framer = MessageFramer(1024)
    framer.feed(b'{"n": 1}\n{"n": 2}\n{"n": ')
    assert framer.has_line
    assert framer.next()["n"] == 1
    assert framer.next()["n"] == 2
    assert framer.next() is None and not framer.has_line
    framer.feed(b"3}\n")
    assert framer.next()["n"] == 3
    assert framer.buffered == 0


def test_each_message_keeps_the_time_its_own_bytes_were_read():
    framer = MessageFramer(1024)
    framer.feed(b'{"n": 1}\n')
    first_read = time.monotonic()
    time.sleep(0.01)
    framer.feed(b'{"n": 2}\n')
    one, two = pull(framer)
    assert one["_arrived"] <= first_read < two["_arrived"]


def test_a_long_line_that_is_not_a_result_or_an_error_is_not_parsed():
    junk = json.dumps({"type": "log", "text": "y" * 200}).encode()
    call = json.dumps({"type": "call", "id": 1, "op": "x", "args": {"a": "y" * 200}}).encode()
    result = json.dumps({"type": "result", "id": "r", "payload": '"' + "z" * 200 + '"'}).encode()
    lines = [junk, call, result, b'{"type": "call", "id": 2}']
    messages = framed([b"\n".join(lines) + b"\n"], call_limit=100)
    assert messages[0] is CALL_TOO_LONG
    assert [(m["type"], m["id"]) for m in messages[1:]] == [("result", "r"), ("call", 2)]


def test_the_oversize_marker_keeps_its_place_among_the_lines():
    messages = framed([b'{"n": 1}\n{"big": "' + b"x" * 2000, b'"}\n{"n": 2}\n'], limit=1000)
    assert messages[0]["n"] == 1 and messages[1] is OVERSIZE and messages[2]["n"] == 2


def test_discard_drops_whole_lines_and_an_unfinished_one():
    framer = MessageFramer(1024)
    framer.feed(b'{"stale": 1}\n{"stale": 2}\n{"type": "result", "id": "nex')
    framer.discard()
    framer.feed(b't"}\n{"fresh": true}\n')
    assert [m.get("fresh") for m in pull(framer)] == [True]


def test_the_buffer_never_holds_more_than_an_unfinished_line_and_one_read():
    framer = MessageFramer(1000)
    for _ in range(1000):
        framer.feed(b"x" * 999)  # no newline: one endless line
        assert framer.buffered <= 1000
    assert framer.next() is OVERSIZE and framer.next() is None


def test_the_reader_delivers_chunks_then_eof_and_drain_reads_what_is_there():
    async def scenario():
        read_fd, write_fd = os.pipe()
        chunks, eofs = [], []
        reader = PipeReader(read_fd, chunks.append, lambda: eofs.append(True), chunk_bytes=4)
        os.write(write_fd, b"hello world")
        reader.drain()  # synchronous: everything written so far, in pieces of chunk_bytes
        assert b"".join(chunks) == b"hello world"
        reader.start(asyncio.get_running_loop())
        os.write(write_fd, b"!")
        os.close(write_fd)
        for _ in range(100):
            if eofs:
                break
            await asyncio.sleep(0.01)
        os.close(read_fd)
        return b"".join(chunks), eofs, reader.closed

    data, eofs, closed = asyncio.run(scenario())
    assert data == b"hello world!"
    assert eofs == [True] and closed
