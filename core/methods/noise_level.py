"""Noise level estimate: the σ of additive white Gaussian noise in an image, from the image alone.

Two published ideas, combined (our own implementation):
- Liu, Tanaka & Okutomi ("Single-image noise level estimation for blind denoising", TIP 2013): keep
  only weak-texture patches, those whose gradient energy is what noise of the current σ alone would
  give (a Gamma-distributed statistic, 99th percentile), and re-estimate σ from them until it settles.
- Chen, Zhu & Heng (ICCV 2015): in the covariance of those patches, structure lives in a few large
  eigenvalues while white noise adds σ² to every one; drop the largest until the rest look like one
  flat population (mean no longer above median) and take their mean as σ².
The first alone, taking the smallest eigenvalue, is biased low by sampling; the second alone is
biased high on textured photographs.

numpy/scipy only: the default denoiser calls it before any network is loaded.
"""

from __future__ import annotations

import numpy as np

PATCH = 7
MAX_PATCHES = 40_000
CONFIDENCE = 0.99


def _flat_tail_variance(vectors: np.ndarray) -> float:
    """σ² as the mean of the flat (noise-only) tail of the patch covariance spectrum."""
    centred = vectors - vectors.mean(axis=0)
    cov = centred.T @ centred / max(len(centred) - 1, 1)
    eig = np.sort(np.clip(np.linalg.eigvalsh(cov), 0.0, None))  # ascending
    for keep in range(len(eig), 0, -1):
        tail = eig[:keep]
        if tail.mean() <= np.median(tail):
            return float(tail.mean())
    return float(eig[0])


SUBSAMPLED = 2.0  # luma σ over the joint one from which the colour is taken to have lost its noise


def can_estimate(height: int, width: int, channels: int = 1, patch: int = PATCH) -> bool:
    """Whether a picture this size holds enough patches to estimate its noise: four times as many as a
    patch has values (fewer leave the covariance short of rank: a 16×16 RGB picture with σ 25 read 0;
    24×24 crops of a photo read 14-16)."""
    count = max(height - patch + 1, 0) * max(width - patch + 1, 0)
    return count >= 4 * channels * patch * patch


def estimate_sigma(
    image: np.ndarray, patch: int = PATCH, max_patches: int = MAX_PATCHES, seed: int = 0
) -> float:
    """σ of the noise in `image` ((H, W) or (H, W, C), any scale), in the image's own units.

    Channels are treated as one signal with one σ (what the color denoiser expects). Patches touching
    the darkest or brightest value are skipped where possible: clipping there removes noise. On RGB
    whose luma holds more than twice the noise the joint estimate finds, the luma's σ as one
    channel's: a JPEG's colour kept at half resolution (4:2:0, nearly every camera JPEG) takes the
    noise out of the colour directions, where the joint estimate then finds almost none (0.55 for
    σ 25 on training photos; the luma's reads 23.8). Elsewhere the joint estimate is the nearer (on
    textured photos the luma's reads high: 22.9 for σ 20 on a CBSD68 photo, the joint 18.8).
    """
    joint = _estimate(image, patch, max_patches, seed)
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[-1] != 3:
        return joint
    from core.luma import LUMA_WEIGHTS, luma_of

    in_luma = _estimate(luma_of(img), patch, max_patches, seed)
    as_channel = in_luma / float(np.linalg.norm(LUMA_WEIGHTS))  # i.i.d. noise per channel: σ·|weights| in Y
    return as_channel if as_channel > SUBSAMPLED * joint else joint


def _estimate(image: np.ndarray, patch: int, max_patches: int, seed: int) -> float:
    """The joint estimate of `estimate_sigma`."""
    from scipy.stats import gamma

    img = np.asarray(image)  # kept in its dtype: a float64 copy of a 12 MP photo is 300 MB
    if img.ndim == 2:
        img = img[..., None]
    height, width, channels = img.shape
    if min(height, width) < patch + 2:
        return 0.0
    windows = np.lib.stride_tricks.sliding_window_view(img, (patch, patch), axis=(0, 1))
    ny, nx = windows.shape[:2]
    rng = np.random.default_rng(seed)
    picks = rng.choice(ny * nx, size=min(max_patches, ny * nx), replace=False)
    # Index the strided view directly: reshaping it first would copy every patch of the image.
    blocks = windows[picks // nx, picks % nx].astype(np.float64)  # (count, channels, patch, patch)
    lo, hi = img.min(), img.max()
    unclipped = ~((blocks <= lo) | (blocks >= hi)).reshape(len(blocks), -1).any(axis=1)
    dims = channels * patch * patch
    if unclipped.sum() >= 20 * dims:
        blocks = blocks[unclipped]
    # Texture strength: squared horizontal + vertical differences inside each patch. For pure noise of
    # variance s², it is s² times a Gamma(dims/2, 2·trace/dims) variable, trace = tr(DhᵀDh + DvᵀDv).
    texture = (np.diff(blocks, axis=3) ** 2).sum(axis=(1, 2, 3)) + (np.diff(blocks, axis=2) ** 2).sum(
        axis=(1, 2, 3)
    )
    # Perfectly constant patches (the padding around a scan, a synthetic border) hold no noise at
    # all; left in, they are the "weakest texture" and pull the estimate to 0.
    varying = texture > 0
    if varying.sum() >= 20 * dims:
        blocks, texture = blocks[varying], texture[varying]
    trace = 2.0 * 2 * channels * patch * (patch - 1)
    limit = gamma.ppf(CONFIDENCE, dims / 2.0, scale=2.0 * trace / dims)
    vectors = blocks.reshape(len(blocks), dims)
    variance = _flat_tail_variance(vectors)
    for _ in range(10):
        weak = texture < variance * limit
        if weak.sum() < 2 * dims:
            break
        updated = _flat_tail_variance(vectors[weak])
        if abs(updated - variance) <= 1e-4 * max(variance, 1e-12):
            variance = updated
            break
        variance = updated
    return float(np.sqrt(variance))


def estimate_sigma_255(image: np.ndarray) -> float:
    """σ on the 0-255 scale of an image normalised to [0, 1] (the unit of the denoisers' `sigma`)."""
    return 255.0 * estimate_sigma(image)
