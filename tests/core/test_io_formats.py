"""The file-format registry: each shared file is recognised by its family from its bytes, writers are
chosen by document kind and extension, and writing never changes the document it was given."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core import io
from core.documents import AudioDoc, ImageDoc
from core.errors import WriteError
from core.io import formats


def test_each_shared_file_is_sniffed_by_its_family_even_without_its_name(datasets, tmp_path):
    examples = {
        "dicom": datasets / "medical" / "693_UNCI.dcm",
        "nifti": datasets / "medical" / "FLAIR.nii.gz",
        "image": datasets / "images" / "bench" / "BSD68" / "test001.png",
        "audio": datasets / "audio" / "bench" / "clips" / "3436-172162-0000.ogg",
    }
    for family, path in examples.items():
        assert formats.sniff(path).name == family, path.name
        nameless = tmp_path / f"{family}_file.bin"
        shutil.copyfile(path, nameless)
        if family != "nifti":  # a gzip stream says nothing of NIfTI until it is unpacked
            assert formats.sniff(nameless).name == family, family
    assert formats.for_folder(datasets / "medical" / "head_ct_ge").name == "dicom"


def test_writers_are_chosen_by_kind_and_extension(tmp_path):
    assert formats.writer_for("volume", tmp_path / "a.nii.gz").name == "nifti"
    assert formats.writer_for("volume", tmp_path / "a.dcm").name == "dicom"
    assert formats.writer_for("volume", tmp_path / "series").name == "dicom"
    assert formats.writer_for("volume", tmp_path / "a.tif").name == "image"
    assert formats.writer_for("image", tmp_path / "a.webp").name == "image"
    assert formats.writer_for("audio", tmp_path / "a.flac").name == "audio"
    with pytest.raises(WriteError, match=r"a\.png: cannot save a scan as \.png \(use .*\.nii\.gz.*\.tif"):
        formats.writer_for("volume", tmp_path / "a.png")
    with pytest.raises(WriteError, match="cannot save audio as .png"):
        formats.writer_for("audio", tmp_path / "a.png")


def test_default_extension_follows_the_format_read():
    gray = np.zeros((1, 4, 4, 1), np.float32)
    assert formats.default_extension(ImageDoc(gray, format="JPEG")) == ".jpg"
    assert formats.default_extension(ImageDoc(gray, format="TIFF")) == ".tif"
    assert formats.default_extension(ImageDoc(gray, format="GIF")) == ".png"  # GIF is read, not written
    audio = AudioDoc(np.zeros((8, 1), np.float32), 8000, format="FLAC")
    assert formats.default_extension(audio) == ".flac"


def test_a_conversion_note_goes_to_the_sidecar_not_into_the_document(datasets, tmp_path):
    doc = io.read(datasets / "images" / "bench" / "BSD68" / "test001.png")
    wide = doc.with_pixels(doc.pixels * 257.0)
    wide.dtype = "uint16"
    before = dict(wide.metadata)
    written = io.write(wide, tmp_path / "out.jpg")
    assert wide.metadata == before
    sidecar = (tmp_path / "out.jpg.lacuna.json").read_text()
    assert "JPEG holds 8 bits per sample" in sidecar and written.is_file()


def test_a_dicom_series_shows_each_slice_its_own_header(datasets):
    doc = io.read(datasets / "medical" / "head_ct_ge")
    assert formats.owner(doc).name == "dicom"
    first, last = formats.header_for(doc, 0), formats.header_for(doc, doc.frames - 1)
    assert first.SOPInstanceUID != last.SOPInstanceUID and "PixelData" not in first
    assert formats.header_for(io.read(datasets / "medical" / "FLAIR.nii.gz"), 0) is None
