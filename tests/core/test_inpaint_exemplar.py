"""Exemplar inpainting: the learned fill's structure with texture copied from the picture.

(Bit-exactness outside the mask, wrong-size masks and 16-bit/CT inputs are checked for every
inpainting method in tests/core/test_inpaint.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from core.bench.metrics import detail_ratio
from core.errors import MethodError
from core.io import read
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


def _across(image: np.ndarray, hole: np.ndarray) -> float:
    """Mean jump between the pixels just outside a rectangular hole and the fill's first ones."""
    (top, left), (bottom, right) = np.argwhere(hole).min(axis=0), np.argwhere(hole).max(axis=0)
    jumps = [
        image[top - 1, left : right + 1] - image[top, left : right + 1],
        image[bottom + 1, left : right + 1] - image[bottom, left : right + 1],
        image[top : bottom + 1, left - 1] - image[top : bottom + 1, left],
        image[top : bottom + 1, right + 1] - image[top : bottom + 1, right],
    ]
    return float(np.mean([np.abs(j).mean() for j in jumps]))


def test_the_fill_meets_the_picture_as_the_picture_meets_itself(lion, monkeypatch):
    """The copy's colours are left to the learned fill, so the fill's edge jumps not much more than the
    picture does between neighbours; the copy pasted as is jumps far more (measured: 9.8 and 37.1
    against 6.5 in the picture)."""
    import core.methods.inpaint as inpaint

    hole = _square(lion, 70)
    truth = lion.pixels[0].astype(np.float64)
    out = run_repair(lion, "inpaint", method="inpaint-exemplar", mask=hole).pixels[0]
    copy, _passes, _unreached = inpaint._shift_map_copy(truth / 255.0, hole)
    pasted = np.where(hole[..., None], copy * 255.0, truth)
    assert _across(out, hole) < 2.0 * _across(truth, hole) < _across(pasted, hole)


def test_a_hole_taller_than_the_picture_around_it_is_still_copied_and_said(lion):
    """Shift-map leaves pixels black that no offset reaches; further passes copy from the copies."""
    hole = np.zeros(lion.pixels.shape[1:3], bool)
    hole[60:] = True  # 60 rows kept above a 261-row hole
    ctx = RunContext(device="cpu")
    out = run_repair(lion, "inpaint", method="inpaint-exemplar", mask=hole, ctx=ctx).pixels[0]
    darkest = out[hole].max(axis=-1)
    assert (darkest < 0.25 * lion.pixels[0][hole].max(axis=-1).mean()).mean() < 0.01
    assert any("copied from its own copies" in note for note in ctx.notes)


def test_a_mask_over_the_whole_picture_is_refused_by_every_picture_method(lion):
    """Nothing is left to fill from (the learned fill wrote a flat brown picture and said so with a
    note about a hole 10^38 pixels across)."""
    everything = np.ones(lion.pixels.shape[1:3], bool)
    for method in ("inpaint-exemplar", "inpaint-learned", "inpaint-telea", "inpaint-biharmonic"):
        with pytest.raises(MethodError, match="covers the whole picture"):
            run_repair(lion, "inpaint", method=method, mask=everything)


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
    assert len(said) == 1 and "about 70 pixels across" in said[0]  # an even side (it read 69)
    assert not any("inpaint-exemplar" in note for note in narrow.notes)


def test_a_copied_foreign_edge_is_damped_to_the_contrast_around_the_hole():
    """A zebra's stripes (±0.4) copied into grass whose fine grain is ±0.02 keep at most 2.5 times the
    grass's mean grain; grain like the grass's own passes unchanged."""
    from core.methods.inpaint import TEXTURE_HEADROOM, _texture

    rng = np.random.default_rng(0)
    grass = 0.5 + rng.normal(0.0, 0.02, (96, 96, 3)).astype(np.float32)
    hole = np.zeros((96, 96), bool)
    hole[30:66, 30:66] = True
    stripes = grass.copy()
    stripes[hole] = np.where((np.arange(96)[:, None] // 3 % 2 == 0)[..., None], 0.9, 0.1).repeat(96, 1)[hole]
    damped = _texture(stripes, grass, hole)[hole]
    grain = np.abs(grass - 0.5).mean()
    assert np.abs(damped).max() <= TEXTURE_HEADROOM * 1.2 * grain
    kept = _texture(grass, grass, hole)[hole]
    assert np.abs(kept).mean() > 0.5 * grain


def test_the_wide_hole_note_measures_a_hole_at_the_pictures_edge_within_the_picture(lion):
    """A band of 121 rows across the bottom is 121 pixels across, not the 581 OpenCV's distance gave
    when it measured past the picture's edge."""
    import re

    from core.repair.hints import smooth_fill

    band = np.zeros(lion.pixels.shape[1:3], bool)
    band[200:] = True
    said = smooth_fill("inpaint-learned", lion, band)
    assert said is not None and 115 <= int(re.search(r"about (\d+) pixels", said).group(1)) <= 125
    assert smooth_fill("inpaint-exemplar", lion, band) is None  # the note is for the smooth fills


def test_the_picker_shows_the_exemplar_fill_its_own_measured_quality_not_the_networks():
    """It loads the inpainting network's weights, whose card holds both methods' scores; each shows
    the ones its bench command named."""
    from core.methods import get_method
    from core.methods.scores import quality_text

    exemplar = quality_text(get_method("inpaint-exemplar").card)
    learned = quality_text(get_method("inpaint-learned").card)
    assert "18.9 dB" in exemplar and "19.6 dB" not in exemplar and "detail in the hole 0.78" in exemplar
    assert "19.6 dB" in learned and "18.9 dB" not in learned and "detail in the hole 0.24" in learned
