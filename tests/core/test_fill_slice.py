"""Refilling missing or corrupted slices of real MR and CT volumes."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import MethodError
from core.io import read
from core.methods.fill_slice import parse_slices
from core.repair import run_repair


@pytest.fixture(scope="module")
def mr(datasets):
    return read(datasets / "medical/emri_small.dcm")  # 10 frames of 64x64


def _rms(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.mark.parametrize("method", ["fill-slice-interp", "fill-slice-flow"])
def test_a_removed_slice_is_rebuilt_better_than_copying_a_neighbour(mr, method):
    truth = mr.pixels
    for index in (2, 5, 7):
        damaged = truth.copy()
        damaged[index] = 0.0  # the slice is lost
        result = run_repair(mr.with_pixels(damaged), "fill-slice", method=method, slices=str(index)).pixels
        copy_error = min(_rms(truth[index - 1], truth[index]), _rms(truth[index + 1], truth[index]))
        assert _rms(result[index], truth[index]) < 0.8 * copy_error
        others = [i for i in range(truth.shape[0]) if i != index]
        assert np.array_equal(result[others], damaged[others])


def test_cubic_order_and_ranges(mr):
    damaged = mr.pixels.copy()
    damaged[4:6] = 0.0
    result = run_repair(mr.with_pixels(damaged), "fill-slice", slices="4-5", order="cubic").pixels
    for index in (4, 5):
        assert _rms(result[index], mr.pixels[index]) < _rms(damaged[index], mr.pixels[index])


def test_a_painted_corrupted_region_is_refilled_inside_the_mask_only(mr):
    frames, height, width = mr.pixels.shape[:3]
    damaged = mr.pixels.copy()
    mask = np.zeros((frames, height, width), bool)
    mask[6, 10:40, 20:50] = True
    damaged[6][mask[6]] = 467.0  # a burned-in bright band
    result = run_repair(mr.with_pixels(damaged), "fill-slice", mask=mask).pixels
    assert np.array_equal(result[~mask], damaged[~mask])
    assert _rms(result[6][mask[6]], mr.pixels[6][mask[6]]) < 0.5 * _rms(
        damaged[6][mask[6]], mr.pixels[6][mask[6]]
    )


def test_hounsfield_units_are_kept_for_a_ct_slice(datasets):
    """A two-frame CT: the last slice refilled from its only neighbour, in HU, the other untouched."""
    ct = read(datasets / "medical/eCT_Supplemental.dcm")
    result = run_repair(ct, "fill-slice", slices="1").pixels
    assert np.array_equal(result[0], ct.pixels[0])
    assert np.allclose(result[1], ct.pixels[0], atol=1e-3 * (ct.value_range[1] - ct.value_range[0]))
    assert result.min() < -500  # still Hounsfield units (air), not a 0..1 scale


def test_slice_lists_are_parsed_and_checked():
    assert parse_slices("3, 5-7", 10) == [3, 5, 6, 7]
    assert parse_slices("7-5", 10) == [5, 6, 7]
    assert parse_slices("", 10) == []
    with pytest.raises(MethodError, match="0 to 9"):
        parse_slices("12", 10)
    with pytest.raises(MethodError, match="cannot read"):
        parse_slices("a-b", 10)


def test_refusals_are_clear(mr):
    with pytest.raises(MethodError, match="name the slices"):
        run_repair(mr, "fill-slice")
    with pytest.raises(MethodError, match="good slice"):
        run_repair(mr, "fill-slice", slices="0-9")


def test_a_series_with_missing_slices_gets_them_back_when_nothing_is_named(datasets, tmp_path):
    """Two files taken out of the shared head CT: `lacuna info` finds the gaps, and fill-slice with
    nothing named puts a slice back in each, at the position the taken-out file had, close to it."""
    import shutil

    import pydicom

    from core.runtime.context import RunContext

    source = datasets / "medical" / "head_ct_ge"
    files = sorted(source.iterdir(), key=lambda p: float(pydicom.dcmread(p).SliceLocation))
    series = tmp_path / "series"
    series.mkdir()
    for index, path in enumerate(files):
        if index not in (5, 20):
            shutil.copy(path, series / path.name)
    whole, gapped = read(source), read(series)
    assert gapped.gaps == [4, 18]
    ctx = RunContext()
    filled = run_repair(gapped, "fill-slice", ctx=ctx)
    put_back = next(note for note in ctx.notes if "put back 2 missing slices" in note)
    named = ", ".join(f"{gapped.positions[k]:.2f} mm along the normal" for k in (4, 18))
    assert f"after the slices at {named}" in put_back  # as the slice bar reads
    assert filled.slices == whole.slices == 28 and filled.gaps == []
    assert np.allclose(filled.positions, whole.positions, atol=0.01)
    for k in (5, 20):  # nearer the truth than either neighbour is
        error = np.abs(filled.pixels[k] - whole.pixels[k]).mean()
        assert error < min(np.abs(whole.pixels[k + d] - whole.pixels[k]).mean() for d in (-1, 1))
    kept = [k for k in range(28) if k not in (5, 20)]
    assert np.array_equal(filled.pixels[kept], gapped.pixels)  # the acquired slices bit for bit


def test_a_gap_beside_a_repeated_or_close_slice_gets_one_slice_back():
    """An 8 mm gap in a 4 mm series is one missing slice, also beside a slice given twice (a step of
    0, which had divided by zero) or 0.5 mm from its neighbour (which had put back 15)."""
    from core.repair.thinning import plan_gaps

    for z in ([0, 4, 8, 8, 16, 20, 24], [0, 4, 8, 8.5, 16.5, 20.5, 24.5], [0, 4, 8, 12, 20, 24, 28]):
        layout = plan_gaps(np.array(z, float), [3])
        assert layout.inserted == [4] and layout.positions[4] == pytest.approx((z[3] + z[4]) / 2)


def test_the_made_slices_are_followed_through_later_insertions():
    """The app names and frames the slices fills made (a review: a refill was missed, and a later
    repair forgot them): a refill by name, then slices inserted before and after it."""
    from core.documents import Provenance
    from core.methods.fill_slice import made_slices

    refill = Provenance(method="fill-slice-interp", task="fill-slice", params={"slices": "1"})
    denoise = Provenance(method="denoise-bilateral", task="denoise", params={})
    thin = Provenance(
        method="fill-slice-self", task="fill-slice", params={"inserted_at": [1, 3, 5], "slices_after": 7}
    )
    assert made_slices([refill], 4) == {1: "fill-slice-interp"}
    assert made_slices([refill, denoise], 4) == {1: "fill-slice-interp"}
    # 4 slices become 7: old 0, 1, 2, 3 now at 0, 2, 4, 6, the new ones at 1, 3, 5
    assert made_slices([refill, denoise, thin], 7) == {
        2: "fill-slice-interp",
        1: "fill-slice-self",
        3: "fill-slice-self",
        5: "fill-slice-self",
    }
