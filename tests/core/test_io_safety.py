"""What protects users: size limits before decoding, clear errors for broken files, writers that
never touch the original, never leave half-written files, and always record provenance."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import PIL.Image
import pytest

import core.io as io
from core.documents import ImageDoc, Provenance
from core.errors import MethodError, ReadError, TooLargeError, UnsupportedFormatError, WriteError
from core.io import images, limits
from core.io.masks import read_mask, write_mask


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "photo.png"
    PIL.Image.fromarray(np.arange(48 * 64 * 3, dtype=np.uint32).reshape(48, 64, 3).astype(np.uint8)).save(
        path
    )
    return path


@pytest.fixture
def small_limits():
    """Tighten the limits for one test and restore them (and Pillow's) afterwards."""
    old = limits.MAX_PIXELS, limits.MAX_SAMPLES, PIL.Image.MAX_IMAGE_PIXELS
    yield limits.set_limits
    limits.MAX_PIXELS, limits.MAX_SAMPLES = old[:2]
    PIL.Image.MAX_IMAGE_PIXELS = old[2]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_png_declaring_ten_billion_pixels_is_refused_before_decoding(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)  # 10^10 gray pixels
    path = tmp_path / "bomb.png"
    idat = zlib.compress(b"\x00" * 1000)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
    with pytest.raises(TooLargeError) as info:
        io.read(path)
    assert str(info.value).startswith("bomb.png:") and "\n" not in str(info.value)


def test_limits_are_configurable_and_shared_with_pillow(png, tmp_path, small_limits):
    small_limits(max_pixels=1000)
    assert PIL.Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(
        TooLargeError, match=r"photo\.png: declares 3,072 pixels, more than the limit of 1,000"
    ):
        io.read(png)
    import soundfile as sf

    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros((500, 2), np.float32), 8000)
    small_limits(max_samples=999)
    with pytest.raises(TooLargeError, match="1,000 samples"):
        io.read(wav)


def test_truncated_png_is_read_with_a_warning(png, tmp_path):
    cut = tmp_path / "cut.png"
    data = png.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    document = io.read(cut)  # what is there is read; the document says the rest is not real
    (message,) = document.metadata["read_warnings"]
    assert message.startswith("cut.png: ") and "truncated" in message and "\n" not in message


def test_a_wav_cut_short_is_read_with_a_warning_and_a_whole_one_without(datasets, tmp_path):
    """libsndfile reads a cut WAV's samples and says nothing: a walk-through's call cut in half was
    read, repaired and written as 4.68 s without a word (its header says 9.36 s)."""
    call = datasets / "audio/speech/plc/test_files/1214.wav"
    assert "read_warnings" not in io.read(call).metadata
    cut = tmp_path / "cut.wav"
    data = call.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    (message,) = io.read(cut).metadata["read_warnings"]
    assert message == (
        "cut.wav: the file is truncated: its header promises 9.36 s of audio and it holds 4.68 s;"
        " the rest is missing"
    )


def test_a_png_cut_inside_its_first_image_data_chunk_says_how_much_it_holds(datasets, tmp_path):
    """A real scan whose first IDAT chunk (64 KiB) runs past the cut is refused, as it was, but the
    refusal counts the image data that is there (it said "holds only 0 bytes")."""
    cut = tmp_path / "cut.png"
    cut.write_bytes((datasets / "images" / "real_damage" / "old_h.png").read_bytes()[:40_000])
    with pytest.raises(
        ReadError, match=r"cut.png: the image data is truncated: the file holds only 39,9\d\d bytes"
    ):
        io.read(cut)


def test_a_file_named_as_another_format_says_what_its_content_is(datasets, tmp_path):
    """A walk-through's NIfTI volume renamed .dcm was only 'not a DICOM file'."""
    renamed = tmp_path / "flair.dcm"
    renamed.write_bytes((datasets / "medical" / "FLAIR.nii.gz").read_bytes())
    with pytest.raises(ReadError) as caught:
        io.read(renamed)
    assert str(caught.value) == (
        "flair.dcm: not a DICOM file (its content is volumes: NIfTI, MGH, MINC, PAR/REC;"
        " name it .nii or .nii.gz)"
    )
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"DICM" * 100)  # no other format's content either: the reader's reason alone
    with pytest.raises(ReadError, match=r"^broken\.dcm: not a DICOM file$"):
        io.read(broken)


def test_unsupported_and_missing_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UnsupportedFormatError, match=r"^notes\.txt: not a file Lacuna reads"):
        io.read(text)
    with pytest.raises(ReadError, match="no such file"):
        io.read(tmp_path / "absent.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.png: the file is empty"):
        io.read(empty)
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(ReadError, match=r"^fake\.png: "):
        io.read(fake)


def test_never_overwrites_the_source(png):
    doc = io.read(png)
    for overwrite in (False, True):
        with pytest.raises(WriteError, match="refusing to overwrite the original"):
            io.write(doc, png, overwrite=overwrite)
    renamed = io.write(doc, png, overwrite_policy="rename")
    assert renamed.name == "photo_2.png"
    assert io.write(doc, png, overwrite_policy="rename").name == "photo_3.png"


def test_existing_files_need_overwrite(png, tmp_path):
    doc = io.read(png)
    target = tmp_path / "result.png"
    target.write_bytes(b"precious")
    with pytest.raises(WriteError, match=r"result\.png: already exists"):
        io.write(doc, target)
    assert target.read_bytes() == b"precious"
    assert io.write(doc, target, overwrite=True) == target
    np.testing.assert_array_equal(io.read(target).pixels, doc.pixels)


def test_a_failing_writer_leaves_nothing_behind(png, tmp_path, monkeypatch):
    doc = io.read(png)
    target = tmp_path / "out" / "result.png"
    target.parent.mkdir()

    def broken(tmp, *args, **kwargs):
        tmp.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(images, "_write_pillow", broken)
    with pytest.raises(WriteError, match=r"result\.png: cannot write \(the disk is full\)"):
        io.write(doc, target)
    assert list(target.parent.iterdir()) == []


def test_missing_folder_is_a_write_error(png, tmp_path):
    with pytest.raises(WriteError, match="does not exist"):
        io.write(io.read(png), tmp_path / "nowhere" / "x.png")


def test_sidecar_records_the_provenance(png, tmp_path):
    doc = io.read(png)
    doc.provenance.append(
        Provenance(
            method="demo",
            task="denoise",
            params={"sigma": 15},
            source=str(png),
            version="0.1.0",
            date="2026-01-01T00:00:00",
        )
    )
    out = io.write(doc, tmp_path / "denoised.bmp")  # BMP has no room for text: the sidecar has it
    record = json.loads((tmp_path / "denoised.bmp.lacuna.json").read_text())
    step = record["steps"][0]
    assert (step["method"], step["task"], step["params"]) == ("demo", "denoise", {"sigma": 15})
    assert step["source"] == str(png) and step["date"] == "2026-01-01T00:00:00"
    assert record["software"].startswith("Lacuna") and record["written"]
    assert record["output"] == out.name


def test_sixteen_bit_to_eight_bit_format_is_scaled_and_noted(tmp_path):
    doc = ImageDoc(pixels=np.full((1, 2, 2, 3), 65535.0, np.float32), dtype="uint16", mode="RGB")
    out = io.write(doc, tmp_path / "x.jpg")
    assert io.read(out).pixels.max() >= 254
    notes = json.loads((tmp_path / "x.jpg.lacuna.json").read_text())["conversion"]
    assert "scaled from uint16 to uint8" in notes[0]
    assert "write_notes" not in doc.metadata


def test_masks_read_nonzero_and_check_size(tmp_path):
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    path = write_mask(mask, tmp_path / "mask.png")
    np.testing.assert_array_equal(read_mask(path, (10, 12)), mask)
    with pytest.raises(MethodError, match=r"mask\.png: the mask is 12×10 pixels but the image is 20×10"):
        read_mask(path, (10, 20))
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 3][mask] = 255  # painted with alpha only
    PIL.Image.fromarray(rgba).save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "alpha.png", (10, 12)), mask)
