"""Turning a child's raw output bytes into safe log lines (sandbox.engine.rules.logtext)."""

import pytest

from sandbox.engine.rules.logtext import LineSplitter, clean


def test_complete_lines_come_out_as_soon_as_their_newline_arrives():
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntwo\nthr") == ["one", "two"]
    assert splitter.feed(b"ee\n") == ["three"]


def test_a_line_split_across_chunks_is_joined():
    splitter = LineSplitter()
    assert splitter.feed(b"hel") == []
    assert splitter.feed(b"lo wor") == []
    assert splitter.feed(b"ld\n") == ["hello world"]


def test_a_character_split_across_chunks_is_decoded_whole():
    euro = "€".encode()  # three bytes
    splitter = LineSplitter()
    assert splitter.feed(b"price: " + euro[:1]) == []
    assert splitter.feed(euro[1:2]) == []
    assert splitter.feed(euro[2:] + b"5\n") == ["price: €5"]


def test_empty_lines_are_kept():
    assert LineSplitter().feed(b"a\n\n\nb\n") == ["a", "", "", "b"]


def test_a_trailing_carriage_return_is_dropped():
    assert LineSplitter().feed(b"windows\r\n") == ["windows"]


def test_finish_returns_the_last_unterminated_line_once():
    splitter = LineSplitter()
    assert splitter.feed(b"done\npartial") == ["done"]
    assert splitter.finish() == ["partial"]
    assert splitter.finish() == []


def test_finish_with_nothing_pending_returns_no_line():
    splitter = LineSplitter()
    splitter.feed(b"line\n")
    assert splitter.finish() == []


def test_invalid_utf8_is_replaced_not_fatal():
    assert LineSplitter().feed(b"ok \xff\xfe end\n") == ["ok \ufffd\ufffd end"]


def test_a_truncated_character_at_finish_is_replaced():
    splitter = LineSplitter()
    splitter.feed("€".encode()[:2])
    assert splitter.finish() == ["\ufffd"]


def test_a_long_line_is_cut_into_pieces_of_at_most_the_limit():
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"a" * 25 + b"\n") == ["a" * 10, "a" * 10, "a" * 5]


def test_a_long_line_without_newline_is_emitted_in_pieces_before_it_ends():
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"b" * 25) == ["b" * 10, "b" * 10]
    assert splitter.feed(b"\n") == ["b" * 5]


def test_a_line_of_exactly_the_limit_is_one_piece():
    assert LineSplitter(max_line_bytes=10).feed(b"c" * 10 + b"\n") == ["c" * 10]


def test_a_long_line_of_multibyte_text_is_cut_between_characters():
    text = "€" * 10  # 30 bytes
    pieces = LineSplitter(max_line_bytes=8).feed(text.encode() + b"\n")
    assert "".join(pieces) == text
    assert all(len(piece.encode()) <= 8 for piece in pieces)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"\x1b[2Jclear", "\\x1b[2Jclear"),  # ESC: no terminal escapes pass through
        (b"bell\x07", "bell\\x07"),
        (b"nul\x00byte", "nul\\x00byte"),
        (b"back\x08space", "back\\x08space"),
        (b"mid\rline", "mid\\x0dline"),
        (b"del\x7f", "del\\x7f"),
        ("c1\u009b31m".encode(), "c1\\x9b31m"),  # the one-character CSI
    ],
)
def test_control_characters_are_shown_as_visible_escapes(raw, shown):
    assert LineSplitter().feed(raw + b"\n") == [shown]


def test_tabs_and_printable_unicode_pass_through_unchanged():
    assert LineSplitter().feed("col1\tcol2\t€ ü 日本\n".encode()) == ["col1\tcol2\t€ ü 日本"]


def test_clean_escapes_a_newline_inside_a_string():
    assert clean("two\nlines") == "two\\x0alines"
