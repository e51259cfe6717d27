"""Inpainting methods on real data: exactness outside the mask, mask checks, fills, region cropping.

The learned method runs with a tiny, untrained network saved in the real weights format (the shipped
weights are trained on the GPU machine); the deep prior runs a few iterations of a narrow network.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.documents import ImageDoc
from core.errors import MethodError
from core.io import read
from core.masks import random_mask
from core.methods import get_method, methods
from core.repair import run_repair
from core.repair.masks import split_params
from core.runtime.context import RunContext

FAST = {"inpaint-dip": {"iterations": 2, "width": 8, "preview_every": 0}}


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A small inpaint_ffc network in resources' format, installed in place of the shipped weights."""
    import core.methods.weights as weights
    from core.archs import build_arch, save_weights

    folder = tmp_path_factory.mktemp("weights")
    hparams = {"channels": 3, "width": 8, "depth": 2, "blocks": 1}
    for name in ("inpaint.safetensors", "inpaint-fast.safetensors"):  # the learned and the fast method
        save_weights(build_arch("inpaint_ffc", **hparams), folder / name, "inpaint_ffc", hparams)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(weights, "OVERRIDE", folder)
        yield folder


@pytest.fixture(scope="module")
def photo(datasets):
    """An 8-bit color photo from CBSD68 (cropped to keep the tests quick)."""
    doc = read(sorted((datasets / "images/bench/CBSD68").glob("*.png"))[3])
    return doc.with_pixels(doc.pixels[:, :112, :144])


@pytest.fixture(scope="module")
def gray16(datasets):
    """A 16-bit gray image made from a BSD68 photo, with values using all 16 bits."""
    path = sorted((datasets / "images/bench/BSD68").glob("*.png"))[5]
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L"), np.float32)[:100, :120]
    rng = np.random.default_rng(0)
    values = np.clip(arr * 257.0 + rng.integers(-100, 100, arr.shape), 0, 65535).round()
    return ImageDoc(values[None, ..., None].astype(np.float32), dtype="uint16", mode="L", format="TIFF")


@pytest.fixture(scope="module")
def ct(datasets):
    """A CT slice in Hounsfield units (a crop around the body)."""
    doc = read(datasets / "medical/693_UNCI.dcm")
    return doc.with_pixels(doc.pixels[:, 200:300, 180:300])


def _inpaint_ids():
    """The methods for single pictures (inpaint-slices, for volumes: tests/core/test_inpaint_slices.py)."""
    return [c.id for c in methods("inpaint") if c.operates_on == "image"]


def test_every_inpaint_method_is_registered():
    ids = set(_inpaint_ids())
    assert {"inpaint-learned", "inpaint-dip", "inpaint-biharmonic", "inpaint-telea", "inpaint-ns"} <= ids
    for card in methods("inpaint"):
        assert card.needs_mask
        assert {"dilate", "feather"} <= {p.name for p in card.params}


@pytest.mark.parametrize("which", ["photo", "gray16", "ct"])
def test_unmasked_pixels_are_bit_identical_for_every_method(which, request, tiny_weights):
    doc = request.getfixturevalue(which)
    height, width = doc.pixels.shape[1:3]
    mask = random_mask(height, width, "medium", seed=2)
    for method_id in _inpaint_ids():
        result = run_repair(doc, "inpaint", method=method_id, mask=mask, **FAST.get(method_id, {}))
        out, src = result.pixels, doc.pixels
        assert out.shape == src.shape and out.dtype == np.float32
        assert np.array_equal(out[:, ~mask], src[:, ~mask]), method_id
        assert not np.array_equal(out[:, mask], src[:, mask]), f"{method_id} changed nothing"
        lo, hi = doc.value_range
        assert np.isfinite(out).all() and out.min() >= lo and out.max() <= hi, method_id


def test_learned_ensemble_averages_passes_and_keeps_unmasked_pixels(photo, tiny_weights):
    mask = random_mask(*photo.pixels.shape[1:3], "medium", seed=4)
    plain = run_repair(photo, "inpaint", method="inpaint-learned", mask=mask).pixels
    averaged = run_repair(photo, "inpaint", method="inpaint-learned", mask=mask, ensemble=True).pixels
    assert np.array_equal(averaged[:, ~mask], photo.pixels[:, ~mask])
    # An untrained network is far from equivariant, so the average of 8 passes differs from one pass.
    assert np.abs(averaged[:, mask] - plain[:, mask]).mean() > 0.1
    again = run_repair(photo, "inpaint", method="inpaint-learned", mask=mask, ensemble=True).pixels
    assert np.array_equal(again, averaged)


def test_a_wrong_size_mask_names_both_sizes(photo, tiny_weights):
    bad = np.ones((50, 60), bool)
    for method_id in _inpaint_ids():
        with pytest.raises(MethodError, match="60×50.*144×112"):
            run_repair(photo, "inpaint", method=method_id, mask=bad)
    # The methods check for themselves too, when called without the engine.
    method = get_method("inpaint-telea")
    with pytest.raises(MethodError, match="60×50.*144×112"):
        next(method.run(photo.pixels[0] / 255.0, bad, RunContext(device="cpu")))


def test_classical_fills_beat_an_empty_hole_and_a_flat_fill(photo):
    truth = photo.pixels[0]
    mask = random_mask(*truth.shape[:2], "medium", seed=5)
    flat = truth.copy()
    flat[mask] = truth[~mask].mean(axis=0)
    flat_err = np.abs(flat - truth)[mask].mean()
    empty_err = np.abs(np.where(mask[..., None], 0.0, truth) - truth)[mask].mean()
    for method_id in ("inpaint-biharmonic", "inpaint-telea", "inpaint-ns"):
        out = run_repair(photo, "inpaint", method=method_id, mask=mask).pixels[0]
        err = np.abs(out - truth)[mask].mean()
        assert err < 0.8 * flat_err < empty_err, method_id


def test_gray_image_runs_through_the_color_network_and_stays_gray(gray16, tiny_weights):
    mask = random_mask(*gray16.pixels.shape[1:3], "thick", seed=1)
    out = run_repair(gray16, "inpaint", method="inpaint-learned", mask=mask)
    assert out.pixels.shape == gray16.pixels.shape  # one channel in, one channel out


def test_learned_method_processes_only_crops_around_the_holes(tiny_weights, monkeypatch):
    """Three small masks on a large photo: the network sees three small crops, never the photo."""
    import core.archs.inpaint as arch

    seen = []
    forward = arch.InpaintFFC.forward

    def spy(self, image, mask):
        seen.append(tuple(image.shape[-2:]))
        return forward(self, image, mask)

    monkeypatch.setattr(arch.InpaintFFC, "forward", spy)
    rng = np.random.default_rng(0)
    image = rng.random((1500, 2000, 3), dtype=np.float32)
    mask = np.zeros((1500, 2000), bool)
    mask[100:110, 100:130] = True
    mask[800:830, 1000:1012] = True
    mask[1450:1500, 1900:1990] = True
    method = get_method("inpaint-learned")
    gen = method.run(image, mask, RunContext(device="cpu"), **split_params(method.card.resolve_params({}))[1])
    with pytest.raises(StopIteration) as stop:
        while True:
            next(gen)
    out = stop.value.value
    assert len(seen) == 3
    assert all(h <= 512 and w <= 512 for h, w in seen)
    assert np.array_equal(out[~mask], image[~mask])


def test_deep_prior_reports_every_iteration_with_previews(photo):
    method = get_method("inpaint-dip")
    image = photo.pixels[0, :64, :64] / 255.0
    mask = random_mask(64, 64, "thin", seed=0)
    params = split_params(method.card.resolve_params({"iterations": 6, "width": 8, "preview_every": 2}))[1]
    reports = []
    gen = method.run(image, mask, RunContext(device="cpu"), **params)
    with pytest.raises(StopIteration) as stop:
        while True:
            reports.append(next(gen))
    assert len(reports) == 6
    previews = [r.preview for r in reports if r.preview is not None]
    assert len(previews) == 2 and previews[0].shape == image.shape
    assert np.array_equal(previews[0][~mask], image[~mask])
    assert stop.value.value.shape == image.shape


def test_dilate_and_feather_act_around_the_painted_pixels(photo):
    """The mask contract applies a method's `dilate` and `feather` (its `run` never blends)."""
    mask = np.zeros(photo.pixels.shape[1:3], bool)
    mask[50:70, 90:110] = True
    image = photo.pixels[0]

    def run(**given):
        return run_repair(photo, "inpaint", method="inpaint-ns", mask=mask, ctx=RunContext("cpu"), **given)

    from core.masks import dilate

    grown = run(dilate=3).pixels[0]
    changed = np.any(grown != image, axis=-1)
    assert changed[~mask].any() and not changed[~dilate(mask, 3)].any()
    # Feathering keeps part of the original at the mask's edge and the full fill in its middle.
    hard, soft = run().pixels[0], run(feather=4).pixels[0]
    edge, middle = (50, 100), (60, 100)
    assert np.array_equal(soft[middle], hard[middle])
    between = (soft[edge] - image[edge]) / (hard[edge] - image[edge] + 1e-12)
    assert np.all((between > 0.0) & (between < 1.0))


def test_a_region_is_filled_through_a_range_of_slices(datasets):
    """An MR series with a region painted on slices 3-5 only: other slices stay exactly as they were."""
    doc = read(datasets / "medical/emri_small.dcm")
    frames, height, width = doc.pixels.shape[:3]
    mask = np.zeros((frames, height, width), bool)
    mask[3:6, 20:34, 25:40] = True
    out = run_repair(doc, "inpaint", method="inpaint-biharmonic", mask=mask).pixels
    assert np.array_equal(out[mask == 0], doc.pixels[mask == 0])
    for i in range(3, 6):
        assert not np.array_equal(out[i][mask[i]], doc.pixels[i][mask[i]])
        # The fill is an estimate from the slice itself: closer to the truth than an empty hole.
        assert np.abs(out[i] - doc.pixels[i])[mask[i]].mean() < np.abs(doc.pixels[i])[mask[i]].mean()


def test_dilate_widens_what_repair_changes_and_nothing_beyond(photo):
    """Through the engine: the grown rim is repaired, pixels beyond it stay bit-identical."""
    from core.masks import dilate

    mask = np.zeros(photo.pixels.shape[1:3], bool)
    mask[50:70, 90:110] = True
    result = run_repair(photo, "inpaint", method="inpaint-telea", mask=mask, ctx=RunContext(), dilate=4)
    changed = np.any(result.pixels[0] != photo.pixels[0], axis=-1)
    assert changed[~mask].any()
    assert not changed[~dilate(mask, 4)].any()


def test_learned_inpainting_leaves_an_opaque_photo_opaque(datasets):
    """The scanned photo is RGBA with alpha 255 everywhere; the network used to fill alpha too and
    left pixels at alpha 172-185 in the holes (user walk-through). Alpha is kept as it was now."""
    import core.io

    photo = core.io.read(datasets / "images" / "real_damage" / "old_w_scratch_b.png")
    assert photo.pixels.shape[-1] == 4 and (photo.pixels[..., 3] == 255).all()
    hole = np.zeros(photo.pixels.shape[1:3], bool)
    hole[100:140, 80:160] = True
    for method in ("inpaint-learned", "inpaint-fast"):
        out = run_repair(photo, "inpaint", method=method, mask=hole)
        assert (np.round(out.pixels[..., 3]) == 255).all(), method
        assert np.abs(out.pixels[0, ..., :3][hole] - photo.pixels[0, ..., :3][hole]).max() > 10  # filled


def test_a_repair_keeps_transparency_and_detection_skips_what_is_not_seen(datasets):
    """Walk-through 45: inpainting filled alpha too, so pixels hidden at alpha 0 showed (up to 128)
    and opaque ones let the background through (down to 193); detection marked hidden colours."""
    import core.io
    from core.detect.run import run_detect

    photo = core.io.read(datasets / "images" / "real_damage" / "old_w_scratch_b.png")
    pixels = photo.pixels.copy()
    pixels[0, :60, :, 3], pixels[0, 60:120, :, 3] = 0, 128
    cutout = photo.with_pixels(pixels)
    hole = np.zeros(pixels.shape[1:3], bool)
    hole[40:160, 80:160] = True  # across the transparent, half and opaque rows
    for method in ("inpaint-learned", "inpaint-telea", "inpaint-biharmonic"):
        out = run_repair(cutout, "inpaint", method=method, mask=hole)
        assert np.array_equal(out.pixels[..., 3], pixels[..., 3]), method
        assert np.abs(out.pixels[0, 120:160, 80:160, :3] - pixels[0, 120:160, 80:160, :3]).max() > 10
    score = run_detect(cutout).score[0]
    assert not score[:60].any() and score[60:].any()


def test_learned_fills_of_specks_and_hairlines_are_as_close_as_teleas(datasets):
    """The shipped network, trained on holes several pixels wide, filled single pixels tens of levels
    off (a stuck pixel on pale water came back 56 levels darker: a walk-through); thin parts of a hole
    now take Telea's fill, and wide holes stay the network's."""
    photo = read(sorted((datasets / "images/bench/CBSD68").glob("*.png"))[1])
    height, width = photo.pixels.shape[1:3]
    specks = np.zeros((height, width), bool)
    specks[20:-20:23, 20:-20:29] = True  # single pixels
    specks[100, 10:-10] = True  # a hairline scratch
    wide = np.zeros((height, width), bool)
    wide[200:240, 100:160] = True

    def error(method: str, hole: np.ndarray, **params) -> float:
        out = run_repair(photo, "inpaint", method=method, mask=hole, **params)
        return float(np.abs(out.pixels[0][hole] - photo.pixels[0][hole]).mean())

    telea = error("inpaint-telea", specks)
    for method in ("inpaint-learned", "inpaint-fast"):
        assert error(method, specks) <= telea + 0.5, method
    assert error("inpaint-learned", specks, thin_holes_telea=False) > 2 * telea  # what the network alone does
    assert error("inpaint-learned", wide) == error("inpaint-learned", wide, thin_holes_telea=False)
