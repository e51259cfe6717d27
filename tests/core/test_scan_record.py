"""A repaired scan says where it was changed and how sure the fill is: a DICOM overlay plane that any
viewer shows, and an uncertainty map beside the result, both read back from the saved files."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest

from core.io import read, write
from core.io.dicom.overlay import changed_pixels
from core.io.uncertainty_map import read_map
from core.repair import run_repair


@pytest.fixture(scope="module")
def ct(datasets):
    return read(datasets / "medical/693_UNCI.dcm")


def test_a_saved_ct_fill_marks_its_pixels_and_saves_its_uncertainty(ct, tmp_path):
    mask = np.zeros(ct.pixels.shape[1:3], bool)
    mask[140:160, 260:300] = True  # across the skull's edge: the fills disagree there
    out = run_repair(ct, "inpaint", mask=mask)
    saved = write(out, tmp_path / "filled.dcm")

    ds = pydicom.dcmread(saved)
    marked = changed_pixels(ds)
    assert marked is not None and marked.shape == (1, 512, 512)
    assert np.array_equal(marked[0], out.changed[0]) and marked[0].sum() > 0.9 * mask.sum()
    assert not (marked[0] & ~mask).any()
    assert np.array_equal(ds.overlay_array(0x6000).astype(bool), marked[0])  # pydicom's own reader agrees

    spread, described = read_map(saved)
    assert spread.shape == (1, 512, 512) and described["units"] == "HU"
    assert (spread[0][~mask] == 0).all() and spread[0][mask].max() > 1.0
    record = json.loads((tmp_path / "filled.dcm.lacuna.json").read_text())
    assert record["uncertainty_map"] == "filled.dcm.uncertainty.tif"
    # Zero outside the fill, stored compressed: a small fill makes a small map (it was 1 MB a slice).
    assert (tmp_path / "filled.dcm.uncertainty.tif").stat().st_size < 50_000
    step = record["steps"][-1]["uncertainty"]
    assert step["max"] == pytest.approx(float(spread.max()), abs=1e-3) and step["pixels"] == int(marked.sum())


def test_a_nifti_results_map_is_a_nifti_on_its_grid_and_comes_back_when_it_is_opened(datasets, tmp_path):
    """A researcher overlays the map on the result (FSLeyes, ITK-SNAP, nibabel): same shape, same
    affine, voxel for voxel; the app shows it again after the result is reopened."""
    import nibabel as nib

    volume = read(datasets / "medical/FLAIR.nii.gz")
    mask = np.zeros(volume.pixels.shape[:3], bool)
    mask[70, 60:90, 40:80] = True  # lacuna's (k, j, i)
    saved = write(run_repair(volume, "inpaint", mask=mask), tmp_path / "filled.nii.gz")
    result, spread = nib.load(saved), nib.load(tmp_path / "filled.nii.gz.uncertainty.nii.gz")
    assert spread.shape == result.shape and np.allclose(spread.affine, result.affine)
    assert np.array_equal(spread.header.get_sform(), result.header.get_sform())
    values = spread.get_fdata()
    assert (values[mask.transpose(2, 1, 0)] > 0).mean() > 0.9 and not values[~mask.transpose(2, 1, 0)].any()
    record = json.loads((tmp_path / "filled.nii.gz.lacuna.json").read_text())
    assert record["uncertainty_map"] == "filled.nii.gz.uncertainty.nii.gz"
    _, described = read_map(saved)
    assert described["lacuna"] == "uncertainty of the fill" and described["units"] == "stored units"

    reopened = read(saved)
    assert np.array_equal(reopened.uncertainty, values.transpose(2, 1, 0))


def test_a_map_is_never_taken_for_a_result_it_does_not_describe(datasets, tmp_path):
    """A review saved a denoise over a fill's result: the fill's map stayed beside it and came back
    with the denoise when reopened, and a denoise of a reopened fill saved the fill's map again."""
    volume = read(datasets / "medical/FLAIR.nii.gz")
    mask = np.zeros(volume.pixels.shape[:3], bool)
    mask[70, 60:90, 40:80] = True
    target = tmp_path / "result.nii.gz"
    write(run_repair(volume, "inpaint", mask=mask), target)
    reopened = read(target)
    assert reopened.uncertainty is not None
    denoised = run_repair(reopened, "denoise", method="denoise-bilateral")
    assert denoised.uncertainty is None  # the fill's map describes pixels the denoise changed
    write(denoised, tmp_path / "denoised.nii.gz")
    assert not (tmp_path / "denoised.nii.gz.uncertainty.nii.gz").exists()
    write(run_repair(volume, "denoise", method="denoise-bilateral"), target, overwrite=True)
    assert not (tmp_path / "result.nii.gz.uncertainty.nii.gz").exists() and read(target).uncertainty is None


def test_a_multiframe_mr_marks_only_the_filled_frames(datasets, tmp_path):
    mr = read(datasets / "medical/emri_small.dcm")
    mask = np.zeros(mr.pixels.shape[:3], bool)
    mask[3:5, 20:30, 20:34] = True
    out = run_repair(mr, "inpaint", mask=mask)
    marked = changed_pixels(pydicom.dcmread(write(out, tmp_path / "mr.dcm")))
    assert marked.shape == mask.shape and marked.any()
    assert not marked[[0, 1, 2, 5, 6, 7, 8, 9]].any() and not (marked & ~mask).any()


def test_photos_get_no_uncertainty_map(datasets, tmp_path):
    photo = read(sorted((datasets / "images/bench/CBSD68").glob("*.png"))[0])
    mask = np.zeros(photo.pixels.shape[1:3], bool)
    mask[40:50, 40:60] = True
    out = run_repair(photo, "inpaint", method="inpaint-telea", mask=mask)
    saved = write(out, tmp_path / "photo.png")
    assert out.uncertainty is None and not (tmp_path / "photo.png.uncertainty.tif").exists()
    assert saved.exists()


def test_a_file_lacuna_derived_records_its_next_repair_too(ct, tmp_path):
    """Saving a repair of a file Lacuna wrote: the record in the DICOM gets the new step (it kept the
    first file's record when pydicom's cached private block pointed at the source)."""
    from core.io.dicom.derive import provenance_of

    first = write(run_repair(ct, "denoise", method="denoise-bilateral"), tmp_path / "first.dcm")
    second = write(run_repair(read(first), "denoise", method="denoise-nlmeans"), tmp_path / "second.dcm")
    assert [s["method"] for s in provenance_of(second)["steps"]] == ["denoise-bilateral", "denoise-nlmeans"]
    assert [s["method"] for s in provenance_of(first)["steps"]] == ["denoise-bilateral"]
