"""Quality metrics on the 0..peak scale used by the literature."""

from __future__ import annotations

import numpy as np


def psnr(result: np.ndarray, truth: np.ndarray, peak: float = 255.0, mask: np.ndarray | None = None) -> float:
    """PSNR in dB over the whole image, or over the pixels where `mask` (H, W) is true."""
    diff = np.asarray(result, np.float64) - np.asarray(truth, np.float64)
    if mask is not None:
        diff = diff[np.asarray(mask, bool)]
    mse = float(np.mean(diff**2)) if diff.size else 0.0
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def ssim(result: np.ndarray, truth: np.ndarray, peak: float = 255.0, mask: np.ndarray | None = None) -> float:
    """SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), averaged over channels.

    With `mask`, the mean of the SSIM map over the masked pixels.
    """
    from skimage.metrics import structural_similarity

    a = np.asarray(result, np.float64)
    b = np.asarray(truth, np.float64)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    _, full = structural_similarity(
        a,
        b,
        data_range=peak,
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        full=True,
    )
    full = full.mean(axis=2)
    return float(full[np.asarray(mask, bool)].mean() if mask is not None else full.mean())


def detail_ratio(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """How much fine detail a fill carries: the mean gradient magnitude over the masked pixels of the
    result, over the same of the truth (1 = as busy as what was lost, 0 = flat, above 1 busier: seams
    and pasted edges count too, so read it beside PSNR and the pictures). PSNR rewards the smooth
    average of every plausible fill; this says whether the texture came back."""

    def busyness(image: np.ndarray) -> float:
        image = np.asarray(image, np.float64)
        planes = image.reshape(*image.shape[:2], -1)
        magnitude = np.mean([np.hypot(*np.gradient(planes[..., c])) for c in range(planes.shape[2])], axis=0)
        return float(magnitude[np.asarray(mask, bool)].mean())

    lost = busyness(truth)
    return busyness(result) / lost if lost > 0 else float("nan")


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma on the 16..235 scale (MATLAB rgb2ycbcr), for super-resolution protocols."""
    image = np.asarray(image, np.float64)
    return 16.0 + (65.481 * image[..., 0] + 128.553 * image[..., 1] + 24.966 * image[..., 2]) / 255.0
