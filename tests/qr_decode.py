"""Reading QR codes back, as a phone's camera would: from a screenshot (PNG) or from the
terminal's half-block characters. zxing-cpp decodes; PNG is unpacked with the standard library."""

import struct
import zlib

import zxingcpp

SCALE = 8  # pixels per module when a terminal QR is drawn for the decoder
QUIET = 4  # light modules around it


def decode_gray(pixels, width, height):
    """Texts of the QR codes in an 8-bit grayscale image (row-major bytes)."""
    image = memoryview(bytes(pixels)).cast("B", (height, width))
    return [result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def decode_png(data):
    width, height, gray = png_to_gray(data)
    return decode_gray(gray, width, height)


def png_to_gray(data):
    """8-bit RGB/RGBA/gray non-interlaced PNG (what Chromium's screenshots are) -> grayscale."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    assert depth == 8 and interlace == 0, f"unsupported PNG: depth {depth}, interlace {interlace}"
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    gray = bytearray()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        for x in range(0, stride, channels):
            if channels < 3:
                gray.append(line[x])
            else:
                gray.append((line[x] * 299 + line[x + 1] * 587 + line[x + 2] * 114) // 1000)
        previous = line
    return width, height, gray


def _unfilter(kind, line, previous, bpp):
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            upper_left = previous[i - bpp] if i >= bpp else 0
            estimate = left + up - upper_left
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
            line[i] = (line[i] + predictor) & 0xFF


# segno's compact terminal output: one character is two modules, top and bottom; dark modules
# are printed as blanks on a light (block) background.
HALF_BLOCKS = {"█": (False, False), "▀": (False, True), "▄": (True, False), " ": (True, True)}


def decode_terminal(text):
    """Texts of the QR codes printed in a terminal with Unicode half blocks."""
    rows = [line for line in text.splitlines() if line and set(line) <= set(HALF_BLOCKS)]
    assert rows, "no half-block QR code in the text"
    width = max(len(row) for row in rows)
    modules = []
    for row in rows:
        pairs = [HALF_BLOCKS[char] for char in row.ljust(width, "█")]
        modules.append([top for top, _ in pairs])
        modules.append([bottom for _, bottom in pairs])
    size_x, size_y = (width + 2 * QUIET) * SCALE, (len(modules) + 2 * QUIET) * SCALE
    pixels = bytearray(b"\xff" * (size_x * size_y))
    for y, line in enumerate(modules):
        for x, dark in enumerate(line):
            if dark:
                for dy in range(SCALE):
                    offset = ((y + QUIET) * SCALE + dy) * size_x + (x + QUIET) * SCALE
                    pixels[offset : offset + SCALE] = b"\x00" * SCALE
    return decode_gray(pixels, size_x, size_y)
