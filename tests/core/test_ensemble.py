"""The 8-way self-ensemble shared by the denoise and upscale methods."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from core.runtime.ensemble import dihedral, self_ensemble, undo_dihedral


def photo(datasets):
    with Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        rgb = np.asarray(im.convert("RGB"), np.float32)[:60, :90] / 255.0
    return torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None]


def test_every_transform_is_undone_and_all_eight_differ(datasets):
    x = photo(datasets)
    seen = set()
    for k in range(8):
        t = dihedral(x, k)
        assert torch.equal(undo_dihedral(t, k), x)
        seen.add(t.numpy().tobytes())
    assert len(seen) == 8


def test_ensemble_of_an_equivariant_function_is_the_function(datasets):
    x = photo(datasets)
    assert torch.allclose(self_ensemble(lambda a: a * 2.0 - 0.1, x), x * 2.0 - 0.1, atol=1e-6)


def test_ensemble_averages_a_direction_dependent_function(datasets):
    """A one-pixel shift to the right, averaged over the 8 transforms, is the mean of the 4 shifts."""
    x = photo(datasets)

    def shift_right(a):
        return torch.roll(a, 1, dims=3)

    assert torch.equal(self_ensemble(shift_right, x, count=1), shift_right(x))
    four = sum(torch.roll(x, step, dims=dim) for step in (1, -1) for dim in (2, 3)) / 4
    assert torch.allclose(self_ensemble(shift_right, x), four, atol=1e-6)


def test_several_inputs_get_the_same_transform(datasets):
    x = photo(datasets)
    mask = (x[:, :1] > 0.5).float()
    out = self_ensemble(lambda a, m: a * m, x, mask)
    assert torch.allclose(out, x * mask, atol=1e-6)
