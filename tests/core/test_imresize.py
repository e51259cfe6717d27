"""MATLAB-compatible bicubic imresize (numpy) and its torch kernels, on real images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.bench.metrics import psnr, rgb_to_y
from core.imresize import contributions, down_kernel, imresize, torch_downsample, torch_upsample


def rgb(datasets, name="bench/Set5/baby_GT.png"):
    with Image.open(datasets / "images" / name) as im:
        return np.asarray(im.convert("RGB"), np.float64)


def test_scale_one_is_exact_identity(datasets):
    img = rgb(datasets)[:61, :47]
    assert np.array_equal(imresize(img, 1.0), img)


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 2, 3, 4, 0.7])
def test_constant_image_stays_constant(scale):
    out = imresize(np.full((37, 41, 2), 123.0), scale)
    assert np.allclose(out, 123.0, atol=1e-9)


def test_output_size_is_matlab_ceil():
    assert imresize(np.zeros((99, 100)), 1 / 3).shape == (33, 34)
    assert imresize(np.zeros((10, 7)), 2).shape == (20, 14)
    assert imresize(np.zeros((10, 7)), output_shape=(5, 3)).shape == (5, 3)


def test_half_scale_weights_are_matlabs_antialiased_cubic():
    # MATLAB: imresize(x, 0.5) on a long signal uses these 8 interior weights (cubic a=-0.5 stretched x2).
    taps, first = down_kernel(2)
    expected = np.array([-0.01171875, -0.03515625, 0.11328125, 0.43359375])
    assert first == -3
    assert np.allclose(taps, np.concatenate([expected, expected[::-1]]), atol=1e-12)
    weights, indices = contributions(10, 5, 0.5)
    assert np.allclose(weights.sum(axis=1), 1.0)
    # Border: MATLAB mirrors indices 0 -> 0, -1 -> 1, ... (half-sample symmetric).
    assert indices[0].min() == 0 and set(indices[0][:3]) <= {0, 1, 2}


def test_close_to_pil_bicubic_but_not_equal(datasets):
    hr = rgb(datasets)[:240, :240]
    ours = np.clip(np.round(imresize(hr, 0.5)), 0, 255)
    pil = np.asarray(
        Image.fromarray(hr.astype(np.uint8)).resize((120, 120), Image.Resampling.BICUBIC), np.float64
    )
    diff = np.abs(ours - pil)
    assert diff.mean() < 0.5  # both antialiased bicubic ...
    assert diff.max() >= 1  # ... but PIL's kernel (a=-0.5, other normalisation/borders) is not MATLAB's


def test_set5_x4_bicubic_reproduces_the_published_baseline(datasets):
    # The literature's Set5 x4 bicubic figure is 28.43 dB (Y, border 4): only MATLAB's kernel gives it.
    scores = []
    for path in sorted((datasets / "images" / "bench" / "Set5").glob("*.png")):
        hr = rgb(datasets, f"bench/Set5/{path.name}")
        hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
        lr = np.clip(np.round(imresize(hr, 0.25)), 0, 255)
        up = np.clip(np.round(imresize(lr, 4)), 0, 255)
        scores.append(psnr(rgb_to_y(up)[4:-4, 4:-4], rgb_to_y(hr)[4:-4, 4:-4]))
    assert np.mean(scores) == pytest.approx(28.43, abs=0.02)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_torch_kernels_match_numpy(datasets, factor):
    img = rgb(datasets)[:120, :96]  # divisible by 2, 3 and 4
    t = torch.from_numpy(img.transpose(2, 0, 1).copy())[None]
    down = torch_downsample(t, factor)[0].numpy().transpose(1, 2, 0)
    ref = imresize(img, 1.0 / factor)
    assert down.shape == ref.shape
    assert np.abs(down - ref).max() < 1e-9  # everywhere, borders included (same mirroring)
    up = torch_upsample(torch.from_numpy(ref.transpose(2, 0, 1).copy())[None], factor)[0].numpy()
    assert np.abs(up.transpose(1, 2, 0) - imresize(ref, factor)).max() < 1e-9
    # float32 on a batch, as in training
    batch = torch.stack([t[0], t[0].flip(-1)]).float() / 255
    down32 = torch_downsample(batch, factor)
    assert (
        np.abs(
            down32[1].double().numpy() * 255 - imresize(img[:, ::-1], 1.0 / factor).transpose(2, 0, 1)
        ).max()
        < 1e-3
    )


def test_torch_downsample_of_an_odd_size_matches_numpy(datasets):
    img = rgb(datasets)[:37, :41, 0]
    out = torch_downsample(torch.from_numpy(img.copy())[None, None], 3)[0, 0].numpy()
    assert np.abs(out - imresize(img, 1 / 3)).max() < 1e-9
