"""A truncated PNG made whole for a decoder that cannot stop early (OpenCV, for 16-bit colour).

The image data that is there is kept as it is; the rows it lacks become zeros (black), which is what
Pillow makes of the missing part of a truncated 8-bit PNG. The reader records a warning saying so.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from core.io.image_layout import PNG_SIGNATURE

ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
# (first column, first row, column step, row step) of each interlacing pass


def completed(path: Path) -> bytes:
    """The PNG at `path` as a complete file: its header, the image data it holds padded with zeros to
    the size the header declares, and an end marker."""
    data = path.read_bytes()
    header, chunks = _chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[:13])
    bits = depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 4)
    expected = _raw_bytes(width, height, bits, interlace == 1)
    inflate = zlib.decompressobj()
    raw = bytearray()
    for kind, body in chunks:
        if kind != b"IDAT" or inflate.eof:
            continue
        try:
            raw += inflate.decompress(body, max(1, expected - len(raw)))
        except zlib.error:  # damaged from here on: keep what came before
            break
        if len(raw) >= expected:
            break
    raw = bytes(raw[:expected]) + bytes(max(0, expected - len(raw)))
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header[:13])
        + _chunk(b"IDAT", zlib.compress(raw, 1))
        + _chunk(b"IEND", b"")
    )


def _chunks(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """IHDR's body and every chunk after it, the last one cut where the file ends."""
    pos, header, chunks = 8, b"", []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        else:
            chunks.append((kind, body))
        pos += 12 + length
    return header, chunks


def _raw_bytes(width: int, height: int, bits: int, interlaced: bool) -> int:
    """The size of the decompressed image data: each row of each pass, plus its filter byte."""
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if columns and rows:
            total += rows * (1 + (columns * bits + 7) // 8)
    return total


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
