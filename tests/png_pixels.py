"""Reading the pixels of a PNG (8-bit RGB or RGBA, not interlaced: what Chromium's
screenshots are) with the standard library alone, to tell a drawn page from a blank one."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> bytes a pixel (8 bits a channel)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, previous: bytes, step: int) -> None:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = previous[i]
        corner = previous[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF


def colour_counts(png: bytes) -> Counter[bytes]:
    """How many pixels have each colour (RGB; alpha dropped)."""
    assert png.startswith(_SIGNATURE), "not a PNG"
    at, data, header = len(_SIGNATURE), bytearray(), b""
    while at < len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        at += 12 + size
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in _CHANNELS and not interlace, (depth, colour, interlace)
    step = _CHANNELS[colour]
    raw, stride = zlib.decompress(bytes(data)), width * step
    counts: Counter[bytes] = Counter()
    previous = bytes(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, previous, step)
        counts.update(bytes(line[i : i + 3]) for i in range(0, stride, step))
        previous = bytes(line)
    return counts
