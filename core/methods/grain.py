"""Grain for smooth fills: noise like the picture's own around a hole, so that a filled scratch on a
grainy print does not show as a smooth line (walk-through 45: the learned fill was smooth where the
print around it was grainy).

The picture's grain is measured as its detail finer than a 1-px blur (the luminance minus its
Gaussian blur), averaged in absolute value over the known pixels within a few pixels of each place;
the added grain is white noise blurred to a grain's size and scaled so that the same measure of it
gives that level. Edges around a hole would read as strong grain, so the measure is capped at three
times the picture's median. Only the colour planes get it, the same amount in each (a print's grain is
in its silver or dye, not in one channel); alpha is left alone.
"""

from __future__ import annotations

import numpy as np

FINE_SIGMA = 1.0  # the grain measured: what a Gaussian blur of this σ (px) takes away
GRAIN_SIGMA = 0.6  # the added grain's size: white noise blurred by this σ (px)
NEAR_SIGMA = 6.0  # how far around a place its grain is measured (Gaussian σ, px)
EDGE_CAP = 3.0  # fine detail over this many times the picture's median is an edge, not grain
MEAN_ABS_TO_SIGMA = float(np.sqrt(np.pi / 2.0))  # σ of a Gaussian from its mean absolute value


def fine_detail(plane: np.ndarray) -> np.ndarray:
    """The detail of `plane` (H, W) finer than a `FINE_SIGMA` blur."""
    import cv2

    return plane - cv2.GaussianBlur(plane, (0, 0), FINE_SIGMA)


def grain_level(plane: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Per pixel, the σ of the fine detail of the known pixels of `plane` around it (H, W)."""
    import cv2

    detail = np.abs(fine_detail(plane))
    known = ~hole
    if not known.any():
        return np.zeros_like(plane)
    capped = np.minimum(detail, EDGE_CAP * float(np.median(detail[known]))) * known
    weight = cv2.GaussianBlur(known.astype(np.float32), (0, 0), NEAR_SIGMA)
    near = cv2.GaussianBlur(capped.astype(np.float32), (0, 0), NEAR_SIGMA)
    overall = float(capped[known].mean())  # deep inside a wide hole: the picture's as a whole
    share = np.clip(weight / 0.05, 0.0, 1.0)  # where almost nothing known is near, lean on `overall`
    level = np.where(weight > 1e-6, near / np.maximum(weight, 1e-6), overall)
    return MEAN_ABS_TO_SIGMA * (share * level + (1.0 - share) * overall)


def unit_grain(shape: tuple[int, int], seed: int | list[int]) -> np.ndarray:
    """Grain-sized noise (H, W) whose fine detail has σ 1 (as `grain_level` measures it)."""
    import cv2

    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), GRAIN_SIGMA)
    return noise / (MEAN_ABS_TO_SIGMA * float(np.abs(fine_detail(noise)).mean()) + 1e-12)


def with_grain(
    image: np.ndarray, filled: np.ndarray, hole: np.ndarray, strength: float, seed: int
) -> np.ndarray:
    """`filled` (H, W, C) in [0, 1], the fill of `hole` in `image`, with grain like `image`'s around
    it added inside the hole, `strength` times the measured level (0: `filled` as it is)."""
    if strength <= 0.0 or not hole.any():
        return filled
    import zlib

    colours = 3 if image.shape[-1] >= 3 else 1
    luminance = image[..., :colours].mean(axis=-1).astype(np.float32)
    # Seeded by the picture too: the frames of a film get grain of their own (one pattern on every
    # frame would stand still in the fill), and the same picture the same grain.
    picture = zlib.crc32(np.ascontiguousarray(luminance[::7, ::7]).tobytes())
    grain = (
        strength * grain_level(luminance, hole) * unit_grain(hole.shape, [int(seed) & 0xFFFFFFFF, picture])
    )
    result = filled.copy()
    result[..., :colours] = np.where(
        hole[..., None], filled[..., :colours] + grain[..., None], filled[..., :colours]
    )
    return np.clip(result, 0.0, 1.0)
