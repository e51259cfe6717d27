"""The SURE-trained zero-shot denoiser, on real images from the shared data sets."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from core.bench.metrics import psnr
from core.methods import get_method
from core.methods.denoise import nl_means
from core.methods.denoise_sure import sure_loss
from core.runtime.context import RunContext, drive


def bsd68(datasets, name="test010.png"):
    with Image.open(datasets / "images" / "bench" / "BSD68" / name) as im:
        return np.asarray(im.convert("L"), np.float32)[..., None] / 255.0


def noisy(clean, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return (clean + rng.normal(0, sigma / 255.0, clean.shape)).astype(np.float32)


def as_tensor(array):
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def test_sure_estimates_the_error_it_cannot_see(datasets):
    """The loss the method minimises is, for non-local means, within 5% of the true squared error."""
    clean = bsd68(datasets)
    dirty = noisy(clean, 25.0)
    level, epsilon = 25.0 / 255.0, 0.01 * 25.0 / 255.0
    probe = np.random.default_rng(1).standard_normal(dirty.shape).astype(np.float32)
    denoised = nl_means(dirty, level)
    denoised_probed = nl_means(dirty + epsilon * probe, level)
    estimate = sure_loss(
        as_tensor(dirty), as_tensor(denoised), as_tensor(probe), as_tensor(denoised_probed), level, epsilon
    )
    true_mse = float(np.mean((denoised - clean) ** 2))
    assert abs(float(estimate) - true_mse) < 0.05 * true_mse
    # ... while the plain squared difference to the noisy image is nowhere near it.
    assert float(np.mean((denoised - dirty) ** 2)) > 1.5 * true_mse


def test_zero_shot_improves_on_non_local_means(datasets):
    clean = bsd68(datasets)[100:228, 100:228]
    dirty = noisy(clean, 25.0)
    run = get_method("denoise-zero-shot").run
    out = drive(run(dirty, None, RunContext(device="cpu"), sigma=25.0, iterations=60, crop=64))
    start = np.clip(nl_means(dirty, 25.0 / 255.0), 0, 1)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr(out, clean, peak=1.0) > psnr(start, clean, peak=1.0) + 0.05


def test_zero_shot_is_deterministic_for_a_seed(datasets):
    dirty = noisy(bsd68(datasets)[:64, :64], 25.0)
    run = get_method("denoise-zero-shot").run

    def once(seed):
        ctx = RunContext(device="cpu", seed=seed)
        return drive(run(dirty, None, ctx, sigma=25.0, iterations=10, crop=32, batch=2))

    first = once(3)
    assert np.array_equal(first, once(3))
    assert not np.array_equal(first, once(4))


def test_zero_shot_returns_a_noise_free_image_unchanged():
    flat = np.full((48, 48, 3), 0.4, np.float32)
    out = drive(get_method("denoise-zero-shot").run(flat, None, RunContext(device="cpu")))
    assert np.array_equal(out, flat)


def test_zero_shot_reports_steps_and_keeps_alpha(datasets):
    clean = np.repeat(bsd68(datasets)[:80, :80], 3, axis=2)
    alpha = np.linspace(0, 1, 80 * 80, dtype=np.float32).reshape(80, 80, 1)
    rgba = np.concatenate([noisy(clean, 20.0), alpha], axis=2)
    gen = get_method("denoise-zero-shot").run(rgba, None, RunContext(device="cpu"), sigma=20.0, iterations=5)
    messages = []
    while True:
        try:
            messages.append(next(gen).message)
        except StopIteration as stop:
            out = stop.value
            break
    assert "learning from the image: step 5/5" in messages
    assert np.array_equal(out[..., 3:], alpha)
    assert psnr(out[..., :3], clean, peak=1.0) > psnr(rgba[..., :3], clean, peak=1.0) + 3.0
