"""The bilateral denoiser: fast, classical, used for archives and gigapixel scans."""

from __future__ import annotations

import numpy as np

from core.io import read
from core.repair import run_repair


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


def test_bilateral_removes_gaussian_noise_from_a_real_photo(datasets):
    clean = read(datasets / "images" / "bench" / "Set12" / "01.png")
    noise = np.random.default_rng(0).normal(0, 25, clean.pixels.shape)
    noisy = clean.with_pixels(np.clip(clean.pixels + noise, 0, 255))
    out = run_repair(noisy, "denoise", method="denoise-bilateral", sigma=25)
    assert psnr(out.pixels, clean.pixels) > psnr(noisy.pixels, clean.pixels) + 5.0
    estimated = run_repair(noisy, "denoise", method="denoise-bilateral")  # σ found from the image
    assert psnr(estimated.pixels, clean.pixels) > psnr(noisy.pixels, clean.pixels) + 4.0


def test_bilateral_keeps_the_alpha_channel(datasets):
    photo = read(datasets / "images" / "bench" / "CBSD68" / "101085.png")
    alpha = np.linspace(0, 255, photo.pixels.shape[2], dtype=np.float32)[None, None, :, None]
    rgba = np.concatenate([photo.pixels, np.broadcast_to(alpha, photo.pixels.shape[:3] + (1,))], axis=3)
    doc = photo.with_pixels(rgba)
    doc.mode = "RGBA"
    out = run_repair(doc, "denoise", method="denoise-bilateral", sigma=15)
    assert np.array_equal(out.pixels[..., 3], rgba[..., 3])
    assert not np.array_equal(out.pixels[..., :3], rgba[..., :3])
