"""Grain for smooth fills: noise like the picture's own around a hole, so that a filled scratch on a
grainy print does not show as a smooth line (walk-through 45: the learned fill was smooth where the
print around it was grainy).

The picture's grain is measured as its detail finer than a 1-px blur (the luminance minus its
Gaussian blur), averaged in absolute value over the known pixels near each place (a Gaussian weight
of σ 6 px); the added grain is white noise blurred to a grain's size and scaled so that the same
measure of it gives that level. The pixels right beside a hole are left out of the measure (the blur
carries a bright scratch's edge into them: grain 1.4-1.6 times too strong), and edges are capped at
three times the median of the detail that is not flat. Only the colour planes get it, the same
amount in each (a print's grain is in its silver or dye, not in one channel); alpha is left alone.
The work is done in boxes around the holes, so a speck on a large scan costs a speck's work.
"""

from __future__ import annotations

import zlib

import numpy as np

FINE_SIGMA = 1.0  # the grain measured: what a Gaussian blur of this σ (px) takes away
GRAIN_SIGMA = 0.6  # the added grain's size: white noise blurred by this σ (px)
NEAR_SIGMA = 6.0  # how far around a place its grain is measured (Gaussian σ, px)
RIM_PX = 3  # the known pixels this close to a hole are not measured (the blur reaches into the hole)
EDGE_CAP = 3.0  # fine detail over this many times the median is an edge, not grain
MEAN_ABS_TO_SIGMA = float(np.sqrt(np.pi / 2.0))  # σ of a Gaussian from its mean absolute value
BOX_MARGIN = int(3 * NEAR_SIGMA) + RIM_PX  # picture around each hole's box that its measure sees


def fine_detail(plane: np.ndarray) -> np.ndarray:
    """The detail of `plane` (H, W) finer than a `FINE_SIGMA` blur."""
    import cv2

    return plane - cv2.GaussianBlur(plane, (0, 0), FINE_SIGMA)


def grain_level(plane: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Per pixel, the σ of the fine detail of the known pixels of `plane` near it (H, W); 0 where
    nothing known is measured (a flat picture, or all of it a hole)."""
    import cv2

    detail = np.abs(fine_detail(plane))
    rim = cv2.dilate(hole.astype(np.uint8), np.ones((2 * RIM_PX + 1,) * 2, np.uint8)).astype(bool)
    known = ~rim if (~rim).any() else ~hole
    textured = detail[known & (detail > 0)]  # a clipped mount or margin is flat, not grain-free
    if not textured.size:
        return np.zeros_like(plane)
    capped = np.minimum(detail, EDGE_CAP * float(np.median(textured))) * known
    weight = cv2.GaussianBlur(known.astype(np.float32), (0, 0), NEAR_SIGMA)
    near = cv2.GaussianBlur(capped.astype(np.float32), (0, 0), NEAR_SIGMA)
    overall = float(capped[known].mean())  # deep inside a wide hole: the box's as a whole
    share = np.clip(weight / 0.05, 0.0, 1.0)  # where almost nothing known is near, lean on `overall`
    level = np.where(weight > 1e-6, near / np.maximum(weight, 1e-6), overall)
    return MEAN_ABS_TO_SIGMA * (share * level + (1.0 - share) * overall)


def unit_grain(shape: tuple[int, int], seed: list[int]) -> np.ndarray:
    """Grain-sized noise (H, W) whose fine detail has σ 1 (as `grain_level` measures it)."""
    import cv2

    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), GRAIN_SIGMA)
    return noise / (MEAN_ABS_TO_SIGMA * float(np.abs(fine_detail(noise)).mean()) + 1e-12)


def hole_boxes(hole: np.ndarray) -> list[tuple[slice, slice]]:
    """Boxes around the holes, each with `BOX_MARGIN` of picture (holes nearer than that share one)."""
    import cv2
    from scipy import ndimage

    size = 2 * BOX_MARGIN + 1
    near = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    labels, _count = ndimage.label(near)
    return [box for box in ndimage.find_objects(labels) if box is not None]


def with_grain(
    image: np.ndarray, filled: np.ndarray, hole: np.ndarray, strength: float, seed: int
) -> np.ndarray:
    """`filled` (H, W, C) in [0, 1], the fill of `hole` in `image`, with grain like `image`'s around
    it added inside the hole, `strength` times the measured level (0: `filled` as it is)."""
    if strength <= 0.0 or not hole.any():
        return filled
    colours = 3 if image.shape[-1] >= 3 else 1
    # Seeded by the picture too: the frames of a film get grain of their own (one pattern on every
    # frame would stand still in the fill), and the same picture the same grain.
    luminance = image[..., :colours].mean(axis=-1).astype(np.float32)
    picture = zlib.crc32(np.ascontiguousarray(luminance[::7, ::7]).tobytes())
    result = filled.copy()
    for rows, cols in hole_boxes(hole):
        inside = hole[rows, cols]
        level = grain_level(luminance[rows, cols], inside)
        noise = unit_grain(inside.shape, [int(seed) & 0xFFFFFFFF, picture, rows.start, cols.start])
        box = result[rows, cols, :colours]
        box += np.where(inside, strength * level * noise, 0.0)[..., None]
    colour = result[..., :colours]
    result[..., :colours] = np.where(hole[..., None], np.clip(colour, 0.0, 1.0), colour)  # outside: as was
    return result
