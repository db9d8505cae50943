"""Turning a child's raw output bytes into safe log lines."""

import re

# C0 controls except tab, DEL, and C1 controls: shown as visible escapes, never passed to a
# terminal or a page as they are (a handler printing ESC[2J must not clear anyone's screen).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def clean(text):
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class LineSplitter:
    """Feeds bytes in, gets complete lines out. Invalid UTF-8 is replaced, over-long lines are
    cut into pieces of at most `max_line_bytes`, and a trailing \\r is dropped."""

    def __init__(self, max_line_bytes=64 * 1024):
        self.max_line_bytes = max_line_bytes
        self._buffer = b""

    def feed(self, data):
        self._buffer += data
        lines = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                break
            raw, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            lines.extend(self._pieces(raw))
        while len(self._buffer) > self.max_line_bytes:
            raw, self._buffer = (
                self._buffer[: self.max_line_bytes],
                self._buffer[self.max_line_bytes :],
            )
            lines.append(self._decode(raw))
        return lines

    def finish(self):
        rest, self._buffer = self._buffer, b""
        return list(self._pieces(rest)) if rest else []

    def _pieces(self, raw):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) <= self.max_line_bytes:
            return [self._decode(raw)]
        pieces = []
        while len(raw) > self.max_line_bytes:
            cut = _char_boundary(raw, self.max_line_bytes)
            pieces.append(self._decode(raw[:cut]))
            raw = raw[cut:]
        pieces.append(self._decode(raw))
        return pieces

    @staticmethod
    def _decode(raw):
        return clean(raw.decode("utf-8", errors="replace"))


def _char_boundary(data, limit):
    """The largest cut <= limit that does not split a UTF-8 character (continuation bytes are
    0b10xxxxxx); invalid data is cut at the limit."""
    cut = limit
    while cut > 0 and limit - cut < 4 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 and limit - cut < 4 else limit
