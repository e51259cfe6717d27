"""What a whole-picture filter leaves as it was outside a scan's body (core.repair.outside): a DICOM's
padding value, a masked volume's background, and not a noisy background that is merely clipped."""

from __future__ import annotations

import numpy as np

from core.documents import VolumeDoc
from core.io import read
from core.repair.outside import outside_of


def test_a_noisy_background_clipped_at_its_floor_is_not_taken_for_a_mask():
    """Air clipped at its lowest value: 62% of the voxels sit at it, in speckles reaching the edges.
    Freezing them while their neighbours are denoised would leave the speckle."""
    noise = np.clip(np.random.default_rng(0).normal(-0.3, 1.0, (6, 256, 256, 1)), 0, None)
    assert (noise == 0).mean() > 0.6
    assert outside_of(VolumeDoc(pixels=noise.astype(np.float32), path=None))[0] is None


def test_a_masked_volumes_background_is_kept_and_named(datasets):
    flair = read(datasets / "medical/FLAIR.nii.gz")
    outside, what = outside_of(flair)
    zero = flair.pixels[..., 0] == 0
    assert outside is not None and not (outside & ~zero).any() and outside.sum() > 0.95 * zero.sum()
    assert what.startswith("masked background (value 0")


def test_a_dicom_padding_value_is_what_is_kept(datasets):
    ct = read(datasets / "medical/head_ct_ge")
    outside, what = outside_of(ct)
    assert what == "padding value -1500" and np.array_equal(outside, ct.pixels[..., 0] == -1500)
