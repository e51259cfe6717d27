"""The self-supervised slice method learns from rows exactly as a gap between slices shows them: whole
rows as targets, the slice profile beyond a pixel's own width (its gain over cubic interpolation is
measured by `lacuna bench fill-slice`, minutes per volume, in docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np
import pytest

from core.io import read
from core.methods.fill_slice_self import profile_sigma, rows_at


@pytest.fixture(scope="module")
def flair(datasets):
    doc = read(datasets / "medical/FLAIR.nii.gz")
    return doc.with_pixels(doc.pixels[56:84, 40:104, 30:94].copy())


def test_training_rows_at_whole_pixel_offsets_are_the_planes_own_rows(flair):
    plane = flair.pixels[10, ..., 0].astype(np.float64)
    assert np.array_equal(rows_at(plane, np.array([5.0, 9.0, 20.0])), plane[[5, 9, 20]])
    halfway = (-plane[19] + 9 * plane[20] + 9 * plane[21] - plane[22]) / 16  # cubic, sharper than linear
    assert np.allclose(rows_at(plane, np.array([20.5]))[0], halfway)
    # 1 mm slices as thick as their 1 mm pixels: the rows are not blurred further
    assert profile_sigma(thickness=1.0, pixel=1.0) == 0.0
    assert 2.0 < profile_sigma(thickness=2.37, pixel=0.48) < 2.1
