"""Issue 20: hostile and broken inputs are refused or reported, with the file and what is wrong."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

import core.io as io
from core.errors import TooLargeError
from core.info import describe


def test_nifti2_dimensions_of_2_to_the_32_do_not_overflow_the_size_check(tmp_path):
    header = nib.Nifti2Header()
    header.set_data_dtype(np.uint8)
    header["dim"][:4] = [3, 2**32, 2**32, 1]  # 2^64 voxels: an int64 product wraps to 0
    header["vox_offset"] = 544
    path = tmp_path / "huge.nii"
    path.write_bytes(header.binaryblock + bytes(4 + 64))
    with pytest.raises(TooLargeError, match=r"huge\.nii: declares 18,446,744,073,709,551,616 pixels"):
        io.read(path)


def _with_raw_value(source, target, keyword: str, text: str) -> None:
    """Copy a DICOM file with `keyword` holding `text` as it stands (pydicom would refuse to encode it)."""
    import pydicom
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = pydicom.dcmread(source)
    tag = Tag(keyword)
    raw = text.encode() + (b" " if len(text) % 2 else b"")
    vr = pydicom.datadict.dictionary_VR(tag)
    ds[tag] = RawDataElement(tag, vr, len(raw), raw, 0, ds.is_implicit_VR, ds.is_little_endian)
    ds.save_as(target)


def test_one_bad_pixel_spacing_leaves_a_dicom_file_readable(datasets, tmp_path):
    path = tmp_path / "slice.dcm"
    _with_raw_value(datasets / "medical" / "head_ct_ge" / "01.dcm", path, "PixelSpacing", "abc")
    document = io.read(path)
    assert document.pixels.shape == (1, 512, 512, 1)
    assert document.spacing[1:] == (1.0, 1.0)  # unknown: 1 mm, as for a file without the attribute
    assert document.metadata["read_warnings"] == [
        "slice.dcm: its PixelSpacing 'abc' is not a number; it was read without it"
    ]


def test_one_bad_slice_leaves_the_series_readable_and_is_named(datasets, tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    sources = sorted((datasets / "medical" / "head_ct_ge").glob("*.dcm"))[:4]
    for source in sources:
        (series / source.name).write_bytes(source.read_bytes())
    bad = series / sources[2].name
    _with_raw_value(sources[2], bad, "PixelSpacing", "abc")
    document = io.read(series)
    assert document.pixels.shape[0] == 4
    assert document.metadata["read_warnings"] == [
        f"{bad.name}: its PixelSpacing 'abc' is not a number; it was read without it"
    ]
    info = describe(series)
    assert info["warnings"] == document.metadata["read_warnings"]


def test_a_rescale_slope_of_zero_is_refused_in_one_line(datasets, tmp_path):
    """It once reached `lacuna info` as a ZeroDivisionError (the stored values are recovered through it)."""
    import pydicom

    from core.errors import ReadError

    ds = pydicom.dcmread(datasets / "medical" / "head_ct_ge" / "01.dcm")
    ds.RescaleSlope = 0
    ds.save_as(tmp_path / "flat.dcm")
    with pytest.raises(ReadError, match=r"^flat\.dcm: invalid RescaleSlope 0 "):
        describe(tmp_path / "flat.dcm")
