"""Exemplar inpainting: texture copied from the picture, its seam hidden by a harmonic correction.

(Bit-exactness outside the mask, wrong-size masks and 16-bit/CT inputs are checked for every
inpainting method in tests/core/test_inpaint.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from core.bench.metrics import detail_ratio
from core.errors import MethodError
from core.io import read
from core.methods.seams import blend_copy, harmonic_fill
from core.repair import run_repair
from core.repair.uncertainty import alternatives
from core.runtime.context import RunContext


@pytest.fixture(scope="module")
def lion(datasets):
    """A CBSD68 photo whose middle is fur: the texture a 70-pixel hole loses."""
    return read(datasets / "images/bench/CBSD68/105025.png")


def _square(doc, side: int) -> np.ndarray:
    height, width = doc.pixels.shape[1:3]
    hole = np.zeros((height, width), bool)
    top, left = height // 2 - side // 2, width // 2 - side // 2
    hole[top : top + side, left : left + side] = True
    return hole


def test_the_harmonic_correction_removes_a_smooth_step_exactly(lion):
    """A copy that is the picture plus a smooth offset (a brightness ramp, as a patch from a darker part
    of the picture) comes back as the picture itself: linear functions are harmonic."""
    picture = lion.pixels[0, :120, :150].astype(np.float64) / 255.0
    hole = np.zeros(picture.shape[:2], bool)
    hole[30:90, 40:110] = True
    rows, cols = np.mgrid[: picture.shape[0], : picture.shape[1]]
    copy = picture + (0.1 + 0.002 * rows - 0.001 * cols)[..., None]
    blended = blend_copy(picture, copy, hole)
    assert np.abs(blended - picture)[hole].max() < 1e-9
    # A plain paste would have left the step.
    assert np.abs(copy - picture)[hole].min() > 0.05


def test_harmonic_fill_stays_within_its_boundary_values():
    """The maximum principle: no overshoot (the biharmonic fill of a noisy rim made coloured blotches)."""
    rng = np.random.default_rng(0)
    values = rng.random((40, 50, 3))
    hole = np.zeros((40, 50), bool)
    hole[10:30, 12:40] = True
    filled = harmonic_fill(np.where(hole[..., None], 0.0, values), hole)
    rim = np.zeros_like(hole)
    rim[9:31, 11:41] = True
    rim &= ~hole
    assert filled[hole].min() >= values[rim].min() - 1e-12
    assert filled[hole].max() <= values[rim].max() + 1e-12
    assert np.array_equal(filled[~hole], values[~hole])


def test_a_large_hole_in_fur_comes_back_textured_where_the_network_is_smooth(lion):
    hole = _square(lion, 70)
    truth = lion.pixels[0]
    detail = {}
    for method in ("inpaint-exemplar", "inpaint-learned", "inpaint-telea"):
        out = run_repair(lion, "inpaint", method=method, mask=hole).pixels[0]
        assert np.array_equal(out[~hole], truth[~hole])
        detail[method] = detail_ratio(np.round(out), truth, hole)
    assert detail["inpaint-exemplar"] > 0.6
    assert detail["inpaint-exemplar"] > 2 * max(detail["inpaint-learned"], detail["inpaint-telea"])


def test_the_seam_correction_halves_the_step_at_the_holes_edge(lion, monkeypatch):
    """Across the hole's edge a plain paste of the copy jumps about three times as much as the picture
    does between neighbours; the corrected fill about as much as the picture (measured: 9-16 against
    5-14 for the picture, 19-29 pasted, over three places and two sizes of hole)."""
    import core.methods.inpaint as inpaint

    def across(image: np.ndarray, hole: np.ndarray) -> float:  # mean jump from the rim into the fill
        (top, left), (bottom, right) = np.argwhere(hole).min(axis=0), np.argwhere(hole).max(axis=0)
        jumps = [
            image[top - 1, left : right + 1] - image[top, left : right + 1],
            image[bottom + 1, left : right + 1] - image[bottom, left : right + 1],
            image[top : bottom + 1, left - 1] - image[top : bottom + 1, left],
            image[top : bottom + 1, right + 1] - image[top : bottom + 1, right],
        ]
        return float(np.mean([np.abs(j).mean() for j in jumps]))

    hole = _square(lion, 70)
    blended = run_repair(lion, "inpaint", method="inpaint-exemplar", mask=hole).pixels[0]
    monkeypatch.setattr(inpaint, "blend_copy", lambda picture, copy, hole: copy)
    pasted = run_repair(lion, "inpaint", method="inpaint-exemplar", mask=hole).pixels[0]
    truth = lion.pixels[0].astype(np.float64)
    assert across(blended, hole) < 0.6 * across(pasted, hole)
    assert across(blended, hole) < 2.0 * across(truth, hole) < across(pasted, hole)


def test_a_mask_over_the_whole_picture_is_refused(lion):
    with pytest.raises(MethodError, match="whole picture"):
        run_repair(lion, "inpaint", method="inpaint-exemplar", mask=np.ones(lion.pixels.shape[1:3], bool))


def test_on_a_ct_it_warns_and_is_not_an_alternative_fill_for_the_uncertainty(datasets):
    ct = read(datasets / "medical/693_UNCI.dcm")
    ct = ct.with_pixels(ct.pixels[:, 150:330, 150:330])
    hole = np.zeros(ct.pixels.shape[1:3], bool)
    hole[80:100, 70:110] = True
    ctx = RunContext(device="cpu")
    run_repair(ct, "inpaint", method="inpaint-exemplar", mask=hole, ctx=ctx)
    assert any("copies patches from elsewhere in the picture" in note for note in ctx.notes)
    assert "inpaint-exemplar" not in alternatives("inpaint", "inpaint-telea")


def test_a_learned_fill_of_a_wide_hole_says_that_exemplar_copies_texture(lion):
    wide, narrow = RunContext(device="cpu"), RunContext(device="cpu")
    run_repair(lion, "inpaint", method="inpaint-learned", mask=_square(lion, 70), ctx=wide)
    run_repair(lion, "inpaint", method="inpaint-learned", mask=_square(lion, 20), ctx=narrow)
    said = [note for note in wide.notes if "inpaint-exemplar" in note]
    assert len(said) == 1 and "about 70 pixels across" in said[0]
    assert not any("inpaint-exemplar" in note for note in narrow.notes)
