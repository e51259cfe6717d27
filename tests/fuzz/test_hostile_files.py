"""Issue 20, items 1 and 3: decompression bombs are refused before decoding, reads are budgeted by the
memory they need, and truncated PNG/JPEG files are read with a warning, never silently.

Each hostile file is read in a forked child with a 1 GB memory limit (the fuzzing harness's runner),
so that a regression fails the test instead of exhausting the machine."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.cli import main as cli_main
from core.io import read, write

from .runner import run_one


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _zeros_deflated(size: int) -> bytes:
    """`size` zero bytes, deflated in pieces (the test never holds them all)."""
    packer = zlib.compressobj(9)
    piece = bytes(1 << 20)
    out = [packer.compress(piece[: min(len(piece), size - done)]) for done in range(0, size, len(piece))]
    return b"".join(out) + packer.flush()


def _png(width: int, height: int, colour: int, idat: bytes, before_idat: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + before_idat
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _read_in_child(path: Path):
    """Read `path` like `lacuna info` does, in a child limited to 1 GB; the outcome and its message."""

    def target(p: Path) -> None:
        read(p)

    return run_one(path, target=target, memory_mb=1024, cpu_s=60, wall_s=600)


def test_a_few_hundred_byte_jpeg_declaring_484_megapixels_is_refused(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, "JPEG", quality=50)
    data = buffer.getvalue()
    sof = data.index(b"\xff\xc0")
    path = tmp_path / "bomb.jpg"
    path.write_bytes(data[: sof + 5] + struct.pack(">HH", 22000, 22000) + data[sof + 9 :])
    assert path.stat().st_size < 1000
    outcome = _read_in_child(path)
    assert outcome.kind == "error", outcome
    assert "bomb.jpg: declares a 22000×22000 image but holds only" in outcome.detail
    assert outcome.peak_mb < 100


def test_a_small_animated_png_declaring_64_by_a_million_pixels_is_refused(tmp_path):
    width, height = 64, 1 << 20
    actl = _chunk(b"acTL", struct.pack(">II", 2, 0))
    fctl = _chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, width, height, 0, 0, 1, 10, 0, 0))
    path = tmp_path / "animated.png"
    path.write_bytes(_png(width, height, 6, zlib.compress(bytes(4096)), actl + fctl))
    assert path.stat().st_size < 2000
    outcome = _read_in_child(path)
    assert outcome.kind == "error", outcome
    assert "declares a 64×1048576 image in 2 frames but holds only" in outcome.detail


def test_a_palette_png_is_budgeted_by_the_memory_its_read_needs(tmp_path):
    width = height = 10_000  # 100 megapixels of palette indices: about 100 KB deflated
    palette = _chunk(b"PLTE", bytes(range(256)) * 3)
    path = tmp_path / "palette.png"
    path.write_bytes(_png(width, height, 3, _zeros_deflated(height * (width + 1)), palette))
    assert path.stat().st_size < 200_000
    outcome = _read_in_child(path)
    assert outcome.kind == "error", outcome
    assert "palette.png: reading it needs about 1.6 GB of memory, more than the" in outcome.detail
    assert outcome.peak_mb < 100


@pytest.mark.parametrize("channels", [3, 1])  # OpenCV's path (16-bit colour) and Pillow's (found by fuzzing)
def test_a_16_bit_png_with_a_corrupt_chunk_length_allocates_nothing(tmp_path, channels):
    image = np.random.default_rng(0).integers(0, 65535, (40, 50, channels), dtype=np.uint16)
    data = bytearray(cv2.imencode(".png", image)[1].tobytes())
    idat = data.index(b"IDAT") - 4
    data[idat : idat + 4] = struct.pack(">I", 0x7FFFFFF0)  # 2 GB declared in a file of a few KB
    path = tmp_path / "sixteen.png"
    path.write_bytes(bytes(data))
    outcome = _read_in_child(path)
    assert outcome.kind == "error", outcome  # not "noise": libpng's complaints stay off the terminal
    assert outcome.detail == (
        f"sixteen.png: the PNG is damaged: a 'IDAT' chunk at byte {idat} declares 2,147,483,632 bytes, "
        "far more than the file holds"
    )
    assert outcome.peak_mb < 100


def test_a_large_image_is_decoded_without_float_copies_of_the_whole(tmp_path):
    height, width = 4000, 6000  # 24 megapixels: the float32 RGB result is 275 MB
    ramp = (np.arange(width, dtype=np.uint32) * 255 // width).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: the reader turns it upright
    path = tmp_path / "large.jpg"
    Image.fromarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)).copy()).save(
        path, quality=90, exif=exif.tobytes()
    )
    result_mb = height * width * 3 * 4 / 2**20
    pillow_frame_mb = height * width * 4 / 2**20
    outcome = _read_in_child(path)
    assert outcome.kind == "ok", outcome
    # the result, Pillow's decoded frame, strips and pages faulted back in (64 MB): no second float
    # array and no uint8 copy of the whole (reading used 509 MB here before, 385 MB now)
    assert outcome.peak_mb < result_mb + pillow_frame_mb + 64, outcome


def _cut_inside_the_image_data(data: bytes, marker: bytes) -> bytes:
    start = data.index(marker)
    return data[: start + (len(data) - start) // 2]


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg"])
def test_a_truncated_png_or_jpeg_is_read_with_a_warning(tmp_path, capsys, name):
    rng = np.random.default_rng(1)
    path = tmp_path / name
    Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(_cut_inside_the_image_data(data, b"IDAT" if name.endswith("png") else b"\xff\xda"))
    document = read(path)
    assert document.pixels.shape == (1, 64, 80, 3)
    (warning,) = document.metadata["read_warnings"]
    assert warning.startswith(f"{name}: the file is truncated: its image data ends early")
    assert cli_main(["info", str(path)]) == 0
    assert "warning" in capsys.readouterr().out


def test_a_png_missing_only_its_end_marker_says_so(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((16, 16), 7, np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:-12])  # no IEND chunk
    document = read(path)
    assert document.metadata["read_warnings"] == [
        "photo.png: the file is truncated after its image data (the end marker is missing)"
    ]
    assert np.all(document.pixels == 7)


def test_a_truncated_16_bit_colour_png_is_read_with_a_warning(datasets, tmp_path, capsys):
    """16-bit colour PNGs go through OpenCV, which cannot stop early: the file is made whole first."""
    with Image.open(datasets / "images" / "bench" / "McMaster" / "1.png") as im:
        rgb = np.asarray(im.convert("RGB"))[:120, :160]
    noise = np.random.default_rng(2).integers(0, 257, rgb.shape)
    image = (rgb.astype(np.uint16) * 257 - (rgb > 0) * noise).astype(np.uint16)  # all 16 bits in use
    path = tmp_path / "photo16.png"
    path.write_bytes(cv2.imencode(".png", image[..., ::-1])[1].tobytes())
    path.write_bytes(_cut_inside_the_image_data(path.read_bytes(), b"IDAT"))
    document = read(path)
    assert (document.pixels.shape, document.dtype) == ((1, 120, 160, 3), "uint16")
    (warning,) = document.metadata["read_warnings"]
    assert warning.startswith("photo16.png: the file is truncated: its image data ends early")
    pixels = document.pixels[0]
    read_rows = [np.array_equal(pixels[row], image[row]) for row in range(120)]
    held = read_rows.index(False)  # the rows the file holds are exact; the rest are black
    assert 20 < held < 100 and all(read_rows[:held]) and not pixels[held + 1 :].any()
    assert cli_main(["info", str(path)]) == 0
    assert "warning         photo16.png: the file is truncated" in capsys.readouterr().out
    written = write(document, tmp_path / "out.png")  # the result's record keeps the warning
    assert json.loads((tmp_path / "out.png.lacuna.json").read_text())["source_warnings"] == [warning]
    assert written.name == "out.png"
