"""NIfTI through nibabel's own test files: 3-D and 4-D, affine kept, no silent rounding."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import core.io as io
from core.documents import Provenance

DATA = Path(nib.__file__).parent / "tests" / "data"


@pytest.mark.parametrize(
    "name",
    ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "standard.nii.gz", "functional.nii"],
)
def test_read_matches_nibabel_and_round_trips(tmp_path, name):
    img = nib.load(DATA / name)
    doc = io.read(DATA / name)
    data = img.get_fdata(dtype=np.float32)
    assert doc.format == "NIfTI"
    if data.ndim == 4:
        i, j, k, t = data.shape
        assert doc.time_points == t and doc.slices == k
        # frame t*k + z, row j, column i
        np.testing.assert_array_equal(doc.pixels[k + 2, ..., 0], data[:, :, 2, 1].T)
    else:
        np.testing.assert_array_equal(doc.pixels[2, ..., 0], data[:, :, 2].T)
    np.testing.assert_allclose(doc.writeback.affine, img.affine)
    assert doc.metadata["orientation"] == "".join(nib.aff2axcodes(img.affine))

    out = io.write(doc, tmp_path / ("out_" + name.replace(".nii.gz", ".nii").replace(".nii", ".nii.gz")))
    back = nib.load(out)
    assert type(back) is type(img)  # NIfTI-2 stays NIfTI-2
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-5)
    np.testing.assert_array_equal(back.get_fdata(dtype=np.float32), data)
    again = io.read(out)
    np.testing.assert_array_equal(again.pixels, doc.pixels)
    assert again.spacing == pytest.approx(doc.spacing)


def test_integer_data_keeps_its_type(tmp_path):
    doc = io.read(DATA / "example4d.nii.gz")
    out = io.write(doc, tmp_path / "same.nii.gz")
    assert nib.load(out).get_data_dtype() == np.int16


def test_float_results_are_not_rounded(tmp_path):
    doc = io.read(DATA / "example4d.nii.gz")
    result = doc.with_pixels(doc.pixels + 0.25)
    result.provenance.append(Provenance(method="fill-test", task="fill_slice", params={"k": 1}))
    out = io.write(result, tmp_path / "float.nii.gz")
    img = nib.load(out)
    assert img.get_data_dtype() == np.float32
    np.testing.assert_array_equal(io.read(out).pixels, result.pixels)
    assert img.header["descrip"].item().startswith(b"Lacuna")
    comments = [e for e in img.header.extensions if e.get_code() == 6]
    assert json.loads(comments[-1].get_content())["steps"][0]["method"] == "fill-test"
    # The widened type is said, in the record (and so on the console by lacuna repair), not silently.
    sidecar = json.loads((tmp_path / "float.nii.gz.lacuna.json").read_text())
    assert sidecar["conversion"][0].startswith("stored as float32: the source was int16, but")


def test_upscaled_volume_gets_a_finer_affine(tmp_path):
    doc = io.read(DATA / "anatomical.nii")
    big = np.repeat(np.repeat(doc.pixels, 2, axis=1), 2, axis=2)
    out = io.write(doc.with_pixels(big), tmp_path / "x2.nii")
    img = nib.load(out)
    assert img.shape == (doc.pixels.shape[2] * 2, doc.pixels.shape[1] * 2, doc.pixels.shape[0])
    zooms = img.header.get_zooms()
    assert zooms[0] == pytest.approx(doc.spacing[2] / 2) and zooms[2] == pytest.approx(doc.spacing[0])
    # the centre of the volume stays where it was
    old_centre = doc.writeback.affine @ [(doc.pixels.shape[2] - 1) / 2, (doc.pixels.shape[1] - 1) / 2, 0, 1]
    new_centre = img.affine @ [(img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2, 0, 1]
    np.testing.assert_allclose(new_centre, old_centre, atol=1e-6)


def test_header_without_its_image_file_is_a_clear_error():
    from core.errors import ReadError

    with pytest.raises(ReadError, match=r"nifti1\.hdr: the voxel data file nifti1\.img is missing"):
        io.read(DATA / "nifti1.hdr")


def test_a_4d_series_is_time_points_of_slices_and_is_filled_per_time_point(capsys):
    """example4d: 24 slices at 2 time points, not 48 slices; a slice is rebuilt in each time point
    from its own neighbours, never from the other time point's slices."""
    from core.cli import main
    from core.repair import run_repair

    doc = io.read(DATA / "example4d.nii.gz")
    assert (doc.time_points, doc.slices, doc.frames) == (2, 24, 48)
    assert main(["info", "--json", str(DATA / "example4d.nii.gz")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["slices"] == 24 and info["time_points"] == 2
    filled = run_repair(doc, "fill-slice", method="fill-slice-interp", slices="23").pixels
    for t in range(2):
        last = t * 24 + 23
        assert not np.array_equal(filled[last], doc.pixels[last])
        # the last slice of a time point has one neighbour in its own time point: the one before it
        np.testing.assert_allclose(filled[last], doc.pixels[last - 1], rtol=1e-5, atol=1e-3)
    untouched = [i for i in range(48) if i % 24 != 23]
    assert np.array_equal(filled[untouched], doc.pixels[untouched])


def test_a_scaled_volume_with_a_nan_header_slope_is_normalised_by_its_real_range(datasets, tmp_path):
    """shear.nii.gz stores uint8 with scl_slope NaN in the header, yet nibabel scales it to HU
    (7.11 * v - 1024): the range methods normalise by must be that of the HU, not 0..255."""
    doc = io.read(datasets / "medical/shear.nii.gz")
    assert doc.pixels.min() == -1024.0
    assert doc.value_range == pytest.approx((-1024.0, 789.0), abs=0.01)
    assert doc.stored_range == pytest.approx((-1024.0, 789.0), abs=0.01)
    out = io.write(doc, tmp_path / "same.nii.gz")
    np.testing.assert_allclose(io.read(out).pixels, doc.pixels, atol=1e-3)


def test_a_volume_holding_nan_is_said_and_refused_for_repair(datasets, tmp_path, capsys):
    """A walk-through denoised a FLAIR with 4,000 NaN voxels: 14,000 came back NaN, 211,000 more had
    changed, and the run said it had changed nothing."""
    from core.cli import main

    source = nib.load(datasets / "medical" / "FLAIR.nii.gz")
    values = np.asarray(source.dataobj).astype(np.float32)
    values[60:70, 60:80, 60:80] = np.nan
    header = source.header.copy()
    header.set_data_dtype(np.float32)
    header.set_slope_inter(1.0, 0.0)
    path = tmp_path / "flair_nan.nii.gz"
    nib.save(nib.Nifti1Image(values, source.affine, header), path)

    assert main(["info", str(path)]) == 0
    assert "not numbers     4000" in capsys.readouterr().out
    out = tmp_path / "denoised.nii.gz"
    assert main(["repair", str(path), "-o", str(out), "--task", "denoise"]) == 2
    said = capsys.readouterr().err
    # said once, last (before it, which denoiser the unnamed scan got and why)
    assert said.count("not numbers") == 1
    assert "4,000 values of this volume are not numbers (NaN or infinite)" in said.strip().splitlines()[-1]
    assert not out.exists()


def test_a_blacked_out_slice_named_by_frames_is_refilled(datasets, tmp_path, capsys):
    """Walk-through 53: `repair FLAIR --task fill-slice --frames 70` was refused ("name the slices to
    refill"): --frames, which names a volume's slices for every task, now names them here too."""
    from core.cli import main

    source = nib.load(datasets / "medical" / "FLAIR.nii.gz")
    data = np.asanyarray(source.dataobj).copy()
    axis = 2  # the file's third axis: its slices
    k = data.shape[axis] // 2
    index = [slice(None)] * 3
    index[axis] = k
    whole = data[tuple(index)].copy()
    data[tuple(index)] = 0
    path = tmp_path / "flair_gap.nii.gz"
    nib.save(nib.Nifti1Image(data, source.affine, source.header), path)
    out = tmp_path / "filled.nii.gz"
    assert main(["repair", str(path), "-o", str(out), "--task", "fill-slice", "--frames", str(k)]) == 0
    filled = np.asanyarray(nib.load(out).dataobj)
    refilled = filled[tuple(index)]
    assert np.corrcoef(refilled.ravel(), whole.ravel())[0, 1] > 0.9
    index[axis] = k + 1
    assert np.array_equal(filled[tuple(index)], data[tuple(index)])  # the others as they were
    capsys.readouterr()
    assert main(["repair", str(path), "-o", str(tmp_path / "n.nii.gz"), "--task", "fill-slice"]) == 2
    assert "--frames on the command line" in capsys.readouterr().err
