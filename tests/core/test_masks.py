"""The random mask generator (statistics, determinism) and the mask utilities methods rely on."""

from __future__ import annotations

import numpy as np
import pytest

from core.masks import KINDS, coverage, dilate, feather, random_mask, random_masks, regions

SHAPES = [(256, 256), (321, 481), (97, 60)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_coverage_never_exceeds_half_and_is_never_empty(kind, shape):
    covers = [coverage(random_mask(*shape, kind, seed)) for seed in range(60)]
    assert max(covers) <= 0.5
    assert min(covers) > 0.0


def test_thin_medium_thick_grow_in_area_on_average():
    means = {k: np.mean([coverage(random_mask(321, 481, k, s)) for s in range(80)]) for k in KINDS}
    assert means["thin"] < means["medium"] < means["thick"]
    # Thick masks cover a large share of the image, as in the LaMa presets.
    assert means["thick"] > 0.25


def test_masks_are_deterministic_per_seed():
    a = random_mask(200, 300, "medium", seed=7)
    b = random_mask(200, 300, "medium", seed=7)
    c = random_mask(200, 300, "medium", seed=8)
    assert a.dtype == bool and a.shape == (200, 300)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    batch1 = random_masks(6, 64, 64, seed=3)
    batch2 = random_masks(6, 64, 64, seed=3)
    assert batch1.shape == (6, 64, 64) and np.array_equal(batch1, batch2)


def test_thin_masks_are_made_of_narrow_strokes():
    # Eroding by a few pixels removes almost all of a thin mask but little of a thick one.
    import cv2

    def surviving(kind):
        m = random_mask(256, 256, kind, seed=1).astype(np.uint8)
        eroded = cv2.erode(m, np.ones((9, 9), np.uint8))
        return eroded.sum() / m.sum()

    assert surviving("thin") < 0.15 < surviving("thick")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="thin"):
        random_mask(64, 64, "huge")


def test_dilate_grows_by_a_disk_of_the_given_radius():
    mask = np.zeros((41, 41), bool)
    mask[20, 20] = True
    grown = dilate(mask, 5)
    yy, xx = np.nonzero(grown)
    distance = np.hypot(yy - 20, xx - 20)
    assert distance.max() <= 5.0 + 1e-9
    assert grown[20, 15] and grown[25, 20] and not grown[20, 14]
    assert np.array_equal(dilate(mask, 0), mask)


def test_a_wide_growth_is_the_same_disk_however_it_is_computed():
    from core import masks

    mask = random_mask(120, 160, "thin", seed=3)
    for px in (masks.DISTANCE_FROM_RADIUS, 37):
        by_disk = masks._cv2().dilate(mask.astype(np.uint8), masks._disk(px)).astype(bool)
        assert np.array_equal(dilate(mask, px), by_disk)
    # a growth far wider than the picture covers it (a walk-through's 5000 px took 6 minutes)
    assert dilate(mask, 5000).all()


def test_feather_ramps_inside_the_mask_only():
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    alpha = feather(mask, 6)
    assert alpha.dtype == np.float32
    assert np.all(alpha[~mask] == 0)
    assert alpha[30, 30] == 1.0
    row = alpha[30, 10:31]
    assert 0 < row[0] < row[3] < row[6] <= 1.0
    assert np.all(np.diff(row) >= 0)
    assert np.array_equal(feather(mask, 0), mask.astype(np.float32))


def test_regions_find_every_scattered_hole_with_context():
    mask = np.zeros((3000, 4000), bool)
    mask[100:120, 200:260] = True  # near a corner
    mask[1500:1540, 2000:2010] = True  # in the middle
    mask[2950:3000, 3900:4000] = True  # touching two edges
    boxes = regions(mask, context=2.0, min_size=256)
    assert len(boxes) == 3
    covered = np.zeros_like(mask)
    for top, bottom, left, right in boxes:
        assert 0 <= top < bottom <= 3000 and 0 <= left < right <= 4000
        assert bottom - top >= 256 and right - left >= 256
        assert bottom - top < 1000 and right - left < 1000  # only the neighbourhood, not the photo
        covered[top:bottom, left:right] = True
    assert covered[mask].all()


def test_regions_merge_overlapping_boxes():
    mask = np.zeros((600, 600), bool)
    mask[100:110, 100:110] = True
    mask[100:110, 150:160] = True  # close enough that the context boxes overlap
    mask[500:505, 500:505] = True
    boxes = regions(mask, context=2.0, min_size=64)
    assert len(boxes) == 2
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3])
    assert regions(np.zeros((10, 10), bool)) == []
