"""The parent's pipe reader and message framer, on real pipes, without a sandbox."""

import asyncio
import json
import os

from sandbox.engine.framing import OVERSIZE, MessageFramer, PipeReader


def framed(chunks, limit=1024):
    messages = []
    framer = MessageFramer(limit, messages.append)
    for chunk in chunks:
        framer.feed(chunk)
    return messages


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
