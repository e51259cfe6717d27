"""DICOM: the shared medical files and pydicom's own test files; HU, windows, spacing, series
folders with gaps, and derived instances that keep every value and carry new UIDs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import core.io as io
from core.documents import Provenance
from core.errors import ReadError, TooLargeError, WriteError
from core.io import dicom


@pytest.fixture(scope="module")
def medical(datasets) -> Path:
    return datasets / "medical"


def _with_step(doc, method="test-denoiser"):
    doc.provenance.append(Provenance(method=method, task="denoise", params={"strength": 2}, version="0"))
    return doc


def test_ct_is_in_hounsfield_units_with_window_and_spacing(medical):
    path = medical / "693_UNCI.dcm"
    ds = pydicom.dcmread(path)
    doc = io.read(path)
    assert doc.kind == "volume" and doc.modality == "CT"
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(doc.pixels[0, ..., 0], expected)
    assert doc.window == (40.0, 100.0)
    assert doc.spacing[1:] == (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))
    lo, hi = dicom.stored_limits(int(ds.BitsStored), True)
    assert doc.stored_range == (lo - 1024.0, hi - 1024.0)


def test_enhanced_ct_uses_functional_groups(medical):
    doc = io.read(medical / "eCT_Supplemental.dcm")
    raw = pydicom.dcmread(medical / "eCT_Supplemental.dcm").pixel_array
    assert doc.pixels.shape == (2, 512, 512, 1)
    np.testing.assert_array_equal(doc.pixels[..., 0], raw.astype(np.float32) - 1024.0)  # per-frame intercept
    assert doc.window == (49.0, 102.0)
    assert doc.spacing == (10.0, 0.388672, 0.388672)
    assert len(doc.positions) == 2


@pytest.mark.parametrize(
    "name,shape", [("JPEG-LL.dcm", (1, 1024, 256, 1)), ("RG3_J2KR.dcm", (1, 1760, 1760, 1))]
)
def test_compressed_transfer_syntaxes_decode(medical, name, shape):
    doc = io.read(medical / name)
    assert doc.pixels.shape == shape
    assert np.isfinite(doc.pixels).all() and doc.pixels.max() > doc.pixels.min()


def test_monochrome1_keeps_values_and_says_so(medical):
    doc = io.read(medical / "RG3_J2KR.dcm")
    assert doc.photometric == "MONOCHROME1"
    assert doc.window == (550.0, 1024.0)
    raw = pydicom.dcmread(medical / "RG3_J2KR.dcm").pixel_array
    np.testing.assert_array_equal(doc.pixels[0, ..., 0], raw)  # not inverted: the display inverts


@pytest.mark.parametrize("name,frames", [("US1_UNCR.dcm", 1), ("OBXXXX1A_2frame.dcm", 2)])
def test_colour_ultrasound_has_three_channels(medical, name, frames):
    doc = io.read(medical / name)
    assert doc.pixels.shape[0] == frames and doc.pixels.shape[-1] == 3
    assert doc.photometric == "RGB"


def test_an_8_bit_palette_in_16_bit_entries_is_read_as_8_bit_rgb(medical, tmp_path):
    """OBXXXX1A's palette holds 8-bit colours shifted into 16-bit entries (v << 8): read as 16-bit, a
    result was written as 16-bit RGB, 6x the file (966 kB -> 5.8 MB), for no precision at all."""
    source = medical / "OBXXXX1A_2frame.dcm"
    ds = pydicom.dcmread(source)
    from pydicom.pixels import apply_color_lut

    lut = apply_color_lut(ds.pixel_array, ds)
    assert lut.dtype == np.uint16 and not np.any(lut % 256) and np.any(lut % 257)
    doc = io.read(source)
    np.testing.assert_array_equal(doc.pixels, (lut // 256).astype(np.float32))
    out = io.write(_with_step(doc), tmp_path / "out.dcm")
    written = pydicom.dcmread(out)
    # three 8-bit samples for the palette's one index: 3x, not 6x
    assert written.BitsAllocated == 8 and out.stat().st_size < 3.1 * source.stat().st_size


def test_multiframe_mr(medical):
    doc = io.read(medical / "emri_small.dcm")
    assert doc.pixels.shape == (10, 64, 64, 1) and doc.modality == "MR"


def test_derived_ct_keeps_values_and_carries_new_identity(medical, tmp_path):
    src = medical / "693_UNCI.dcm"
    doc = _with_step(io.read(src))
    out = io.write(doc, tmp_path / "ct_denoised.dcm")
    original = pydicom.dcmread(src, stop_before_pixels=True)
    written = pydicom.dcmread(out)
    assert written.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert written.SOPInstanceUID != original.SOPInstanceUID
    assert written.SeriesInstanceUID != original.SeriesInstanceUID
    assert written.file_meta.MediaStorageSOPInstanceUID == written.SOPInstanceUID
    assert list(written.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert "test-denoiser" in written.DerivationDescription
    assert written.SourceImageSequence[0].ReferencedSOPInstanceUID == original.SOPInstanceUID
    for keyword in ("StudyInstanceUID", "PatientID", "PatientName", "StudyDate", "InstanceNumber"):
        assert written.get(keyword) == original.get(keyword)  # one slice keeps its number (21 here)
    assert written.ContributingEquipmentSequence[-1].Manufacturer == "Lacuna"
    assert dicom.provenance_of(out)["steps"][0]["params"] == {"strength": 2}

    again = io.read(out)
    np.testing.assert_array_equal(again.pixels, doc.pixels)  # the HU values survive
    assert again.window == doc.window and again.spacing == doc.spacing
    sidecar = json.loads(Path(str(out) + ".lacuna.json").read_text())
    assert sidecar["steps"][0]["method"] == "test-denoiser"


def test_a_number_dicom_cannot_hold_is_not_kept(medical, tmp_path):
    """A single slice keeps its InstanceNumber only where an IS holds it; else it is numbered 1."""
    import warnings

    source = pydicom.dcmread(medical / "693_UNCI.dcm")
    with warnings.catch_warnings():  # pydicom warns of the over-long value the test needs
        warnings.simplefilter("ignore")
        source.InstanceNumber = "99999999999999"
        source.save_as(tmp_path / "odd.dcm")
        out = io.write(_with_step(io.read(tmp_path / "odd.dcm")), tmp_path / "odd_denoised.dcm")
    assert pydicom.dcmread(out).InstanceNumber == 1


def test_written_values_are_clipped_to_the_stored_range(medical, tmp_path):
    doc = io.read(medical / "693_UNCI.dcm")
    wild = doc.pixels.copy()
    wild[0, 0, 0, 0] = 1e6
    wild[0, 0, 1, 0] = -1e6
    wild[0, 0, 2, 0] = 12.4
    again = io.read(io.write(doc.with_pixels(wild), tmp_path / "clipped.dcm"))
    lo, hi = doc.stored_range
    np.testing.assert_array_equal(again.pixels[0, 0, :3, 0], [hi, lo, 12.0])


def test_upscaled_result_updates_rows_columns_and_spacing(medical, tmp_path):
    doc = io.read(medical / "693_UNCI.dcm")
    big = np.repeat(np.repeat(doc.pixels, 2, axis=1), 2, axis=2)
    result = doc.with_pixels(big)
    result.spacing = (doc.spacing[0], doc.spacing[1] / 2, doc.spacing[2] / 2)
    out = io.write(result, tmp_path / "ct_x2.dcm")
    written = pydicom.dcmread(out)
    assert (written.Rows, written.Columns) == (1024, 1024)
    assert float(written.PixelSpacing[0]) == pytest.approx(doc.spacing[1] / 2, rel=1e-5)
    np.testing.assert_array_equal(io.read(out).pixels, big)

    # The enlarged slice covers the same area: its corner (half a pixel before the first pixel's
    # centre) stays where it was, so the first centre moves a quarter of an old pixel (a walk-through).
    def corner(ds):
        row_dir, col_dir = (
            np.asarray(ds.ImageOrientationPatient[:3], float),
            np.asarray(ds.ImageOrientationPatient[3:], float),
        )
        between_rows, between_cols = (float(v) for v in ds.PixelSpacing)
        return (
            np.asarray(ds.ImagePositionPatient, float)
            - row_dir * between_cols / 2
            - col_dir * between_rows / 2
        )

    source = pydicom.dcmread(medical / "693_UNCI.dcm")
    np.testing.assert_allclose(corner(written), corner(source), atol=1e-4)
    assert (
        np.abs(
            np.asarray(written.ImagePositionPatient, float) - np.asarray(source.ImagePositionPatient, float)
        ).max()
        > 0.1
    )


@pytest.mark.parametrize(
    "name",
    [
        "eCT_Supplemental.dcm",
        "emri_small.dcm",
        "OBXXXX1A_2frame.dcm",
        "US1_UNCR.dcm",
        "JPEG-LL.dcm",
        "RG3_J2KR.dcm",
    ],
)
def test_round_trip_of_shared_files(medical, tmp_path, name):
    doc = _with_step(io.read(medical / name))
    out = io.write(doc, tmp_path / name)
    again = io.read(out)
    np.testing.assert_array_equal(again.pixels, doc.pixels)
    assert again.spacing == doc.spacing and again.window == doc.window
    assert again.photometric == doc.photometric
    assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "rtdose.dcm",
        "SC_rgb_small_odd_big_endian.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
    ],
)
def test_other_encodings_are_rewritten_as_explicit_little_endian(tmp_path, name):
    doc = io.read(get_testdata_file(name))
    out = io.write(doc, tmp_path / name)
    np.testing.assert_array_equal(io.read(out).pixels, doc.pixels)


def test_malformed_dicom_files_fail_with_one_clear_line():
    with pytest.raises(ReadError) as info:
        io.read(get_testdata_file("MR_truncated.dcm"))
    assert str(info.value) == "MR_truncated.dcm: pixel data is truncated (expected 8192 bytes, found 8130)"
    with pytest.raises(ReadError, match=r"badVR\.dcm: invalid NumberOfFrames value '1A'"):
        io.read(get_testdata_file("badVR.dcm"))


def test_declared_size_is_checked_before_decoding(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.Rows = ds.Columns = 60000
    ds.NumberOfFrames = 1000  # 3.6 * 10^12 pixels declared; the data is 32 KB
    path = tmp_path / "bomb.dcm"
    ds.save_as(path)
    with pytest.raises(TooLargeError, match="bomb.dcm"):
        io.read(path)


# ---------------------------------------------------------------------------------------- series
def _make_series(folder: Path, z_values, uid=None, orientation=(1, 0, 0, 0, 1, 0), start=0):
    """Slices from CT_small at the given z, InstanceNumber reversed, file names shuffled."""
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    uid = uid or generate_uid()
    normal = np.cross(orientation[:3], orientation[3:])
    for n, z in enumerate(z_values):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID = uid
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = len(z_values) - n  # reversed: sorting must use positions
        ds.ImageOrientationPatient = list(orientation)
        ds.ImagePositionPatient = [float(v) for v in normal * z]
        arr = ds.pixel_array.copy()
        arr[0, 0] = int(z * 10)  # a marker to check the order
        ds.PixelData = arr.tobytes()
        ds.save_as(folder / f"img_{(start + n * 7) % 11:02d}_{n}")
    return uid


def test_series_folder_is_split_sorted_and_gaps_reported(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    uid = _make_series(folder, [10.0, 0.0, 8.0, 2.0, 4.0])  # 6.0 is missing
    _make_series(folder, [0.0, 5.0], orientation=(0, 1, 0, 0, 0, -1), start=3)  # another orientation
    (folder / "notes.txt").write_text("not DICOM")
    doc = io.read(folder)
    assert doc.pixels.shape[0] == 5
    assert doc.metadata["series_uid"] == uid
    assert doc.positions == [0.0, 2.0, 4.0, 8.0, 10.0]
    assert doc.gaps == [2]  # a slice is missing after index 2 (z=4)
    assert doc.spacing[0] == 2.0
    np.testing.assert_array_equal(doc.pixels[:, 0, 0, 0] - doc.pixels[0, 0, 0, 0], [0, 20, 40, 80, 100])
    assert len(doc.metadata["series"]) == 2

    out = io.write(_with_step(doc), tmp_path / "study_denoised")
    files = sorted(out.iterdir())
    # each slice keeps its file's name (a walk-through's 01.dcm came back as 0001.dcm)
    assert sorted(f.name for f in files) == sorted(Path(f).name for f in doc.metadata["source_files"])
    for f in files:  # and each name is still its slice's
        written, source = (pydicom.dcmread(g, stop_before_pixels=True) for g in (f, folder / f.name))
        assert list(written.ImagePositionPatient) == list(source.ImagePositionPatient)
    series_uids = {pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID for f in files}
    assert len(series_uids) == 1 and uid not in series_uids
    again = io.read(out)
    np.testing.assert_array_equal(again.pixels, doc.pixels)
    assert again.positions == doc.positions and again.gaps == doc.gaps
    with pytest.raises(WriteError, match="folder"):
        io.write(doc, tmp_path / "series.dcm")


def test_a_filled_slice_is_written_at_its_position(tmp_path):
    folder = tmp_path / "gappy"
    folder.mkdir()
    _make_series(folder, [0.0, 2.0, 4.0, 8.0])
    doc = io.read(folder)
    assert doc.gaps == [2]
    filled = np.concatenate([doc.pixels[:3], doc.pixels[2:3] * 0 + 7.0, doc.pixels[3:]])
    result = _with_step(doc.with_pixels(filled), method="slice-filler")
    result.positions = [0.0, 2.0, 4.0, 6.0, 8.0]
    result.gaps = []
    out = io.write(result, tmp_path / "filled")
    again = io.read(out)
    assert again.positions == [0.0, 2.0, 4.0, 6.0, 8.0] and again.gaps == []
    np.testing.assert_array_equal(again.pixels, filled)


def test_multiframe_with_another_frame_count_stays_consistent(medical, tmp_path):
    doc = io.read(medical / "eCT_Supplemental.dcm")
    three = np.concatenate([doc.pixels, doc.pixels[1:]])
    out = io.write(doc.with_pixels(three), tmp_path / "three.dcm")
    written = pydicom.dcmread(out)
    assert written.NumberOfFrames == 3 and len(written.PerFrameFunctionalGroupsSequence) == 3
    np.testing.assert_array_equal(io.read(out).pixels, three)


@pytest.mark.parametrize(
    ("lossless", "reference"),
    [("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"), ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm")],
)
def test_jpeg_ls_and_jpeg_lossless_decode_without_gdcm(lossless, reference):
    """GDCM aborts the process on damaged JPEG data (tests/fuzz/found/dicom-gdcm-aborts-*), so it is no
    decoder of ours; imagecodecs decodes what only it did, bit for bit like the uncompressed file."""
    from pydicom.pixels import get_decoder

    decoded = io.read(get_testdata_file(lossless))
    np.testing.assert_array_equal(decoded.pixels, io.read(get_testdata_file(reference)).pixels)
    syntax = pydicom.dcmread(get_testdata_file(lossless)).file_meta.TransferSyntaxUID
    assert "gdcm" not in get_decoder(syntax).available_plugins
    for jpeg in pydicom.uid.JPEGTransferSyntaxes + pydicom.uid.JPEG2000TransferSyntaxes[:2]:
        assert "gdcm" not in get_decoder(jpeg).available_plugins, jpeg.name


def test_an_unreadable_descriptive_element_is_noted_not_fatal(tmp_path):
    """A SeriesInstanceUID with an unknown value representation once ended in the catch-all."""
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    source.SeriesDescription = "xxx"
    path = tmp_path / "odd.dcm"
    source.save_as(path)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"\x08\x00\x3e\x10LO")  # (0008,103E) SeriesDescription: a VR pydicom does not know
    raw[at + 4 : at + 6] = b"KS"
    path.write_bytes(bytes(raw))
    doc = io.read(path)
    assert doc.pixels.shape == (1, 128, 128, 1)
    assert doc.metadata["read_warnings"] == [
        "odd.dcm: its SeriesDescription 'xxx' is unreadable; it was read without it"
    ]


def test_thicker_slices_further_apart_are_not_gaps(datasets):
    """The shared head CT has 14 slices 4 mm thick 4 mm apart, then 14 slices 7 mm thick 7 mm apart:
    touching slices, not 13 missing ones; each slice keeps its own thickness."""
    from core.io.dicom import find_gaps

    head = io.read(datasets / "medical" / "head_ct_ge")
    assert head.gaps == []
    assert head.metadata["slice_thicknesses"] == [4.0] * 14 + [7.0] * 14
    # A slice missing among the 7 mm ones is still found; so is one missing from an overlapping
    # series (5 mm slices every 2.5 mm), whose step is less than the slices' thickness.
    z = [0.0, 4.0, 8.0, 13.5, 20.5, 34.5, 41.5]  # 4 mm, 4 mm, the change (5.5 mm), 7 mm, 14 mm, 7 mm
    assert find_gaps(z, [4.0, 4.0, 4.0, 7.0, 7.0, 7.0, 7.0])[0] == [4]
    assert find_gaps([0.0, 4.0, 8.0, 20.5, 27.5], [4.0, 4.0, 4.0, 7.0, 7.0])[0] == [2]  # at the change
    assert find_gaps([0.0, 4.0, 8.0, 15.0, 29.0], [4.0, 4.0, 7.0, 7.0, 7.0])[0] == [3]  # one of two steps
    assert find_gaps(z, [4.0, 4.0, 4.0, 6.9999, 7.0, 7.0001, 7.0])[0] == [4]  # the scanner's float noise
    assert find_gaps([0.0, 2.5, 5.0, 10.0, 12.5], [5.0] * 5)[0] == [2]
    touching = [0.0, 4.0, 8.0, 12.0, 16.0, 23.0, 30.0, 37.0]
    assert find_gaps(touching, [4.0] * 5 + [7.0] * 3)[0] == []
    assert find_gaps(touching)[0] == [4, 5, 6]  # without thicknesses: against the usual step


def test_a_series_saved_as_nifti_keeps_where_its_voxels_lie_in_the_patient(datasets, tmp_path):
    """NIfTI's affine comes from the slices' own positions and orientation (LPS turned to RAS), so
    left stays left and the gantry tilt stays a shear; slices unevenly spaced cannot be held by one
    affine, and the writer says so."""
    import shutil

    import nibabel as nib
    from nibabel.affines import apply_affine

    from core.io.dicom.header import plane_orientation, plane_position
    from core.io.nifti import write_nifti

    lps_to_ras = np.array([-1.0, -1.0, 1.0])
    folder = datasets / "medical" / "head_ct_ge"
    even = tmp_path / "even"
    even.mkdir()
    files = sorted(folder.iterdir(), key=lambda p: float(pydicom.dcmread(p).SliceLocation))
    for path in files[:14]:  # the 14 slices 4 mm apart
        shutil.copy(path, even / path.name)
    for source, uneven in ((folder, True), (even, False)):
        doc = io.read(source)
        written = write_nifti(doc, tmp_path / f"{source.name}.nii.gz")
        affine = nib.load(written.path).affine
        first, last = doc.writeback.datasets[0], doc.writeback.datasets[-1]
        orientation = plane_orientation(first)
        column_mm = float(first.PixelSpacing[1])
        assert np.allclose(apply_affine(affine, (0, 0, 0)), plane_position(first) * lps_to_ras, atol=1e-4)
        assert np.allclose(
            apply_affine(affine, (0, 0, doc.slices - 1)), plane_position(last) * lps_to_ras, atol=1e-3
        )
        step = apply_affine(affine, (10, 0, 0)) - apply_affine(affine, (0, 0, 0))
        assert np.allclose(step, 10 * column_mm * orientation[:3] * lps_to_ras, atol=1e-4)
        assert "".join(nib.aff2axcodes(affine)) == "LPS"  # column 0 is the patient's right
        assert any("one slice spacing" in note for note in written.notes) == uneven
        if not uneven:  # every slice in place, the middle ones too
            middle = doc.writeback.datasets[7]
            assert np.allclose(
                apply_affine(affine, (0, 0, 7)), plane_position(middle) * lps_to_ras, atol=1e-3
            )


def test_a_truncated_slice_leaves_a_gap_that_fill_slice_puts_back(datasets, tmp_path):
    """One file of the head CT cut short: the series is read without it (said in a warning that names
    it), the hole shows as a gap, and fill-slice with nothing named puts a slice back at its place."""
    import shutil

    from core.repair import run_repair

    series = tmp_path / "series"
    shutil.copytree(datasets / "medical" / "head_ct_ge", series)
    whole = io.read(series)
    broken = Path(whole.metadata["source_files"][9])
    broken.write_bytes(broken.read_bytes()[:300_000])
    doc = io.read(series)
    assert doc.slices == 27 and doc.gaps == [8]
    assert any(w.startswith(f"{broken.name}: pixel data is truncated") for w in doc.metadata["read_warnings"])
    filled = run_repair(doc, "fill-slice")
    assert filled.slices == 28 and np.allclose(filled.positions, whole.positions, atol=0.01)
    # Where the spacing alone shows no gap (where 4 mm slices give way to 7 mm ones, a walk-through
    # found it left out), the broken file's own position, read from its header, still marks one.
    series14 = tmp_path / "series14"
    shutil.copytree(datasets / "medical" / "head_ct_ge", series14)
    broken = series14 / Path(whole.metadata["source_files"][13]).name
    broken.write_bytes(broken.read_bytes()[:300_000])
    doc = io.read(series14)
    assert doc.slices == 27 and 12 in doc.gaps
    filled = run_repair(doc, "fill-slice")
    assert filled.slices == 28 and np.allclose(filled.positions, whole.positions, atol=0.01)


def test_pixels_outside_the_scanned_area_stay_padding_after_a_repair(datasets):
    """The head CT marks the outside of its scanned circle with PixelPaddingValue (-1500 HU); a
    denoiser's smoothing across that edge must not turn padding into 'tissue' a viewer would show."""
    from core.repair import run_repair

    doc = io.read(datasets / "medical" / "head_ct_ge")
    assert doc.metadata["padding_value"] == -1500.0
    result = run_repair(doc, "denoise", method="denoise-scan", frames=[17])  # it had changed 20,563
    outside = doc.pixels[17] == -1500.0
    assert outside.mean() > 0.1 and np.all(result.pixels[17][outside] == -1500.0)
    assert np.any(result.pixels[17][~outside] != doc.pixels[17][~outside])  # the scan itself was denoised


def test_a_fill_asked_over_padding_values_is_not_undone(datasets):
    """Padding is kept for whole-picture filters only: slices named for refilling are refilled even
    where they held the padding value (a review found them put back as padding)."""
    from core.repair import run_repair

    doc = io.read(datasets / "medical" / "head_ct_ge")
    doc.pixels[10] = -1500.0  # a slice lost as padding
    filled = run_repair(doc, "fill-slice", slices="10")
    assert (filled.pixels[10] != -1500.0).mean() > 0.5


def test_a_filled_or_single_slice_scan_saved_as_nifti_keeps_its_geometry(datasets, tmp_path):
    """After fill-slice put a missing slice back the slices are even again: no 'one slice spacing'
    note, and every slice where its position says; a single slice keeps the spacing read for it."""
    import shutil

    import nibabel as nib
    from nibabel.affines import apply_affine

    from core.io.nifti import write_nifti
    from core.repair import run_repair

    series = tmp_path / "series"
    series.mkdir()
    files = sorted(
        (datasets / "medical" / "head_ct_ge").iterdir(), key=lambda p: float(pydicom.dcmread(p).SliceLocation)
    )
    for index, path in enumerate(files[:14]):  # the 4 mm slices, one taken out
        if index != 6:
            shutil.copy(path, series / path.name)
    filled = run_repair(io.read(series), "fill-slice")
    written = write_nifti(filled, tmp_path / "filled.nii.gz")
    assert not any("one slice spacing" in note for note in written.notes)
    affine = nib.load(written.path).affine
    corners = [np.array(pydicom.dcmread(path).ImagePositionPatient, float) for path in files[:14]]
    placed = [apply_affine(affine, (0, 0, k)) * [-1, -1, 1] for k in range(14)]  # RAS to LPS
    assert np.allclose(placed, corners, atol=0.01)  # the slice put back too
    single = io.read(datasets / "medical" / "693_UNCI.dcm")
    affine = nib.load(write_nifti(single, tmp_path / "single.nii.gz").path).affine
    assert np.linalg.norm(affine[:3, 2]) == pytest.approx(single.spacing[0])


def test_each_slice_of_a_series_notes_its_nonsense_once(datasets, tmp_path):
    """28 slices with an unreadable WindowCenter: 28 warnings, not the first slice's twice (review)."""
    from pydicom.dataelem import DataElement

    series = tmp_path / "series"
    series.mkdir()
    for path in (datasets / "medical" / "head_ct_ge").iterdir():
        ds = pydicom.dcmread(path)
        ds[0x00281050] = DataElement(0x00281050, "LO", "abc")
        ds.save_as(series / path.name, enforce_file_format=False)
    warnings = io.read(series).metadata["read_warnings"]
    assert len(warnings) == len(set(warnings)) == 28


def test_slice_positions_are_measured_along_the_series_own_tilted_orientation(medical):
    """The head CT's slices are tilted (IOP 0.9483237, -0.3173047): positions are the distance along
    that exact normal, not along the orientation rounded for grouping (0.04 mm off before)."""
    from core.io.dicom.series import list_series

    series = list_series(medical / "head_ct_ge")[0]
    first = pydicom.dcmread(series["files"][0], stop_before_pixels=True)
    iop = np.array(first.ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    assert series["orientation"] == pytest.approx(list(iop), abs=1e-9)
    assert series["positions"][0] == pytest.approx(
        float(np.array(first.ImagePositionPatient, float) @ normal), abs=1e-6
    )


def test_an_enlarged_thinned_series_keeps_the_corner_of_every_slice(medical, tmp_path):
    """A review: inserted slices were placed from the source's first-pixel positions after the move,
    so an enlarged thinned series was a quarter pixel off on every other slice. On the tilted head CT
    (an oblique orientation): each slice's corner as in the same series written unenlarged."""
    from core.repair import run_repair

    head = io.read(medical / "head_ct_ge")
    crop = head.with_pixels(head.pixels[:6, 200:232, 200:232].copy())
    crop.positions = list(head.positions[:6])
    thinned = run_repair(crop, "fill-slice", method="fill-slice-interp", thin=2)
    big = thinned.with_pixels(np.repeat(np.repeat(thinned.pixels, 2, axis=1), 2, axis=2))
    big.spacing = (thinned.spacing[0], thinned.spacing[1] / 2, thinned.spacing[2] / 2)

    def corners(folder):
        out = []
        for path in sorted(folder.iterdir()):
            ds = pydicom.dcmread(path)
            iop = np.asarray(ds.ImageOrientationPatient, float)
            between_rows, between_cols = (float(v) for v in ds.PixelSpacing)
            at = np.asarray(ds.ImagePositionPatient, float)
            out.append(at - iop[:3] * between_cols / 2 - iop[3:] * between_rows / 2)
        return np.asarray(out)

    small_corners = corners(io.write(thinned, tmp_path / "small"))
    big_corners = corners(io.write(big, tmp_path / "big"))
    assert len(small_corners) == 11 and thinned.frames == 11
    np.testing.assert_allclose(big_corners, small_corners, atol=1e-4)


def test_a_series_saved_as_nifti_keeps_units_window_type_and_says_how_far_slices_moved(datasets, tmp_path):
    """A walk-through's clinician reopened the NIfTI of the head CT: units unknown, a bone-like window
    instead of the series' own, HU stored as float32, and no word of how far the uneven slices moved."""
    import nibabel as nib

    from core.io.provenance import conversions

    series = io.read(datasets / "medical" / "head_ct_ge")
    saved = io.write(series, tmp_path / "ct.nii.gz")
    header = nib.load(saved).header
    assert header.get_xyzt_units()[0] == "mm" and header.get_data_dtype() == np.int16
    assert io.read(saved).window == series.window
    moved = [note for note in conversions(saved) if "one slice spacing" in note]
    assert moved and "others up to" in moved[0], conversions(saved)


def test_a_mixed_archive_with_a_series_in_a_subfolder_is_a_folder_of_items_not_a_scan(datasets, tmp_path):
    """A walk-through's archive (photos, recordings, a CT in medical/) was described by `lacuna info`,
    and opened by the app, as that one CT; a patient's folder or a CD (DICOMDIR) is still its series."""
    import shutil

    from core.info import describe

    archive = tmp_path / "archive"
    shutil.copytree(datasets / "medical/head_ct_ge", archive / "medical" / "head_ct")
    (archive / "photos").mkdir()
    shutil.copy(datasets / "images/real_damage/old_a.png", archive / "photos")
    with pytest.raises(ReadError, match="holds other files besides its DICOM series"):
        io.read(archive)
    info = describe(archive)
    assert info["kind"] == "folder" and "image" in info["items"] and "dicom" in info["items"]
    (archive / "DICOMDIR").write_bytes(b"")  # a CD's index: its viewer's pictures do not make it an archive
    assert io.read(archive).kind == "volume"
    (archive / "DICOMDIR").unlink()
    shutil.rmtree(archive / "photos")
    (archive / ".thumbnails").mkdir()  # a viewer's hidden previews, and a gzipped export, are no media
    shutil.copy(datasets / "images/real_damage/old_a.png", archive / ".thumbnails")
    (archive / "export.tar.gz").write_bytes(b"\x1f\x8b")
    assert io.read(archive).kind == "volume"  # a patient's folder: the series in its subfolder
