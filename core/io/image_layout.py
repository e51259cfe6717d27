"""What a PNG or JPEG file declares and what it actually holds, read from its chunks or markers
without decoding anything.

Two questions are answered before a decoder allocates memory:
- can the file hold the image it declares? Deflate expands at most about 1032:1, and a Huffman-coded
  JPEG spends at least one bit per 8x8 block, so a few kilobytes cannot hold hundreds of
  megapixels: such a file is damaged or a decompression bomb;
- does the file end where the format says it ends (PNG's IEND, JPEG's EOI)? If not it is truncated,
  and whatever a decoder makes of the missing part is invented.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from core.errors import ReadError, TooLargeError
from core.io import limits

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFLATE_MAX_RATIO = 1032  # zlib's documented limit for long runs of one byte
JPEG_PIXELS_PER_BYTE = 512  # 8 bits a byte, at least 1 bit for each block of 64 pixels
SLACK_BYTES = 1 << 16  # headers, padding, filter bytes of tiny images
PLAUSIBLE_OVERRUN = 4  # a cut file lacks part of its last chunk; a length past 4x the file is corrupt
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
JPEG_ARITHMETIC = {0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # coded below a bit per block: no ratio check
JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7} | JPEG_ARITHMETIC


@dataclass
class Layout:
    width: int
    height: int
    frames: int  # animation frames (1 for a still image)
    data_bytes: int  # compressed image data in the file
    raw_bytes: int  # what decoding must produce from it (PNG) or 0 (JPEG, see `pixels_holdable`)
    complete: bool  # the file ends where the format says it ends
    arithmetic: bool = False
    # Image data of a chunk the file's end cuts through: said in a refusal, not counted as holdable
    # (a file cut inside its first data chunk is refused as before, naming what it does hold).
    cut_bytes: int = 0

    @property
    def holdable(self) -> bool:
        """Whether the image data in the file can possibly decode to the declared image."""
        if self.raw_bytes:  # PNG
            return self.raw_bytes <= DEFLATE_MAX_RATIO * self.data_bytes + SLACK_BYTES
        if self.arithmetic:
            return True
        return self.width * self.height <= JPEG_PIXELS_PER_BYTE * self.data_bytes + SLACK_BYTES


def read_layout(path: Path) -> Layout | None:
    """The layout of a PNG or JPEG file; None for other formats."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head != PNG_SIGNATURE and head[:3] != b"\xff\xd8\xff":
            return None
        size = fh.seek(0, 2)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _png(path, data, size) if head == PNG_SIGNATURE else _jpeg(path, data, size)


def _png(path: Path, data, size: int) -> Layout:
    pos, width, height, frames, data_bytes, raw, complete, cut = 8, 0, 0, 1, 0, 0, False, 0
    row_bits, seen_fctl, seen_idat = 0, False, False
    while pos + 8 <= size:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 12 + length > size:  # a chunk running past the end: truncated here, or a corrupt length
            if pos + 12 + length > PLAUSIBLE_OVERRUN * size + SLACK_BYTES or length >= 1 << 31:
                raise ReadError(
                    f"{path.name}: the PNG is damaged: a {kind.decode('latin-1')!r} chunk at byte {pos} "
                    f"declares {length:,} bytes, far more than the file holds"
                )
            if kind in (b"IDAT", b"fdAT"):
                cut = size - (pos + 8)
            break
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR" and length >= 13:
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            row_bits = depth * PNG_CHANNELS.get(colour, 4)
            raw = _png_frame_bytes(width, height, row_bits)
        elif kind == b"acTL" and length >= 8:
            frames = max(1, struct.unpack(">I", body[:4])[0])
        elif kind == b"fcTL" and length >= 12:
            frame_w, frame_h = struct.unpack(">II", body[4:12])
            if seen_idat or seen_fctl:  # (a control chunk before IDAT describes the IHDR image)
                raw += _png_frame_bytes(frame_w, frame_h, row_bits)
            seen_fctl = True
        elif kind in (b"IDAT", b"fdAT"):
            seen_idat = seen_idat or kind == b"IDAT"
            data_bytes += length
        elif kind == b"IEND":
            complete = True
            break
        pos += 12 + length
    if not width or not height:
        if pos + 8 > size or pos + 12 + length > size:  # it ran out before IHDR
            raise ReadError(f"{path.name}: the image data is truncated (the file ends in its PNG header)")
        raise ReadError(f"{path.name}: the PNG header (IHDR) is missing or damaged")
    return Layout(width, height, frames, data_bytes, raw, complete, cut_bytes=cut)


def _png_frame_bytes(width: int, height: int, row_bits: int) -> int:
    return height * (1 + (width * row_bits + 7) // 8)


def _jpeg(path: Path, data, size: int) -> Layout | None:
    pos, width, height, arithmetic, scan_start = 2, 0, 0, False, 0
    while pos + 4 <= size:
        if data[pos] != 0xFF:  # stray bytes between segments: decoders skip to the next marker
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes before a marker
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in JPEG_FRAMES and length >= 7 and pos + 9 <= size:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            arithmetic = marker in JPEG_ARITHMETIC
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            scan_start = pos + 2 + length
            break
        pos += 2 + length
    if not scan_start and (pos < 0 or pos + 4 > size):
        raise ReadError(f"{path.name}: the image data is truncated (the file ends in its JPEG header)")
    if not width or not height or not scan_start:
        return None  # an unusual layout: the decoder will say what it makes of it
    # 0xFF 0xD9 cannot occur inside entropy-coded data (a 0xFF there is followed by 0x00 or RSTn)
    complete = data.find(b"\xff\xd9", scan_start) >= 0
    return Layout(width, height, 1, size - scan_start, 0, complete, arithmetic)


def check_holdable(path: Path, layout: Layout) -> None:
    """Refuse a file that declares more than the pixel limit, or more than its image data can hold
    (damaged or a decompression bomb)."""
    limits.check_pixels(path, layout.width * layout.height * layout.frames)
    if layout.holdable:
        return
    frames = f" in {layout.frames} frames" if layout.frames > 1 else ""
    if not layout.complete:
        held = layout.data_bytes + layout.cut_bytes
        raise ReadError(
            f"{path.name}: the image data is truncated: the file holds only {held:,} "
            f"bytes of it for a {layout.width}×{layout.height} image{frames}"
        )
    raise TooLargeError(
        f"{path.name}: declares a {layout.width}×{layout.height} image{frames} but holds only "
        f"{layout.data_bytes:,} bytes of image data, too few for it: the file is damaged or a "
        "decompression bomb"
    )


def truncation_warning(path: Path, layout: Layout) -> str:
    """What a person should know about a file that ends before its end marker."""
    if layout.raw_bytes and layout.frames == 1 and _png_pixels_complete(path):
        return f"{path.name}: the file is truncated after its image data (the end marker is missing)"
    return (
        f"{path.name}: the file is truncated: its image data ends early, so part of the image is "
        "missing and was filled in by the decoder (it is not real)"
    )


def _png_pixels_complete(path: Path) -> bool:
    """Whether the compressed pixel stream (IDAT, possibly cut) reaches its own end."""
    inflate = zlib.decompressobj()
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 8
    while pos + 8 <= len(data) and not inflate.eof:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            pending = data[pos + 8 : pos + 8 + length]
            while pending and not inflate.eof:
                try:
                    inflate.decompress(pending, 1 << 20)  # the pixels themselves are not kept
                except zlib.error:
                    return False
                pending = inflate.unconsumed_tail
        pos += 12 + length
    return inflate.eof
