"""Defects with an exact signature, found by rule: stuck sensor pixels and dead lines across the picture.

The learned detector sees the picture through 128-pixel crops and misses most of these (on held-out
training images with mixed damage its repair mask left 80% of the dead pixels and 28% of the dead-line
pixels unmarked), yet each has a signature that photographed content almost never shows:

- a stuck pixel is saturated in every channel (0 or the top of the range) and stands apart from its
  eight neighbours but at most two that are saturated too, in a group of at most three such pixels
  (a stuck pair or corner of three counts, a thin line of the picture clipped to white does not);
- a dead line (a scanner's dead row of sensors, a film's line scratch) is a row or column, 1 or 2
  pixels thick, running the whole picture, that is brighter than the rows on both sides or darker
  than both, pixel by pixel, along most of its length and by a margin.

The thresholds were set on training pictures: on 810 clean ones (color432, gray400, the real scans)
they mark one band (a dark stripe of a gray400 picture) and 9 stuck pixels, on held-out training
images they find every line and 93% of the dead pixels the network missed; see docs/benchmarks.md,
"Exact signatures".
"""

from __future__ import annotations

import numpy as np

STUCK_LEVEL = 0.5 / 255  # within half an 8-bit level of 0 or of the top of the range
STUCK_APART = 0.25  # beyond its neighbours (but STUCK_ALIKE of them, if saturated too), some channel
STUCK_ALIKE = 2
STUCK_GROUP_MOST = 3  # pixels: a stuck pixel, a pair, a corner of three

LINE_THICKNESS = (1, 2)
LINE_MEDIAN_MARGIN = 28 / 255  # the median of how far the line stands out from the nearer side
LINE_STEP = 2 / 255  # a pixel of the line "stands out" beyond this much on both sides ...
LINE_SHARE = 0.65  # ... along at least this share of the line's length


def _planes(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.float32)
    return image[..., None] if image.ndim == 2 else image


STUCK_CHUNK = 1 << 20  # saturated pixels judged at a time: bounds the memory on a clipped sky


def stuck_pixels(image: np.ndarray) -> np.ndarray:
    """Bool (H, W): pixels of `image` (H, W, C) or (H, W) in [0, 1] stuck at 0 or 1 in every channel,
    apart from their neighbourhood. Only saturated pixels are judged, so a large photo costs little."""
    image = _planes(image)
    height, width = image.shape[:2]
    saturated = ((image <= STUCK_LEVEL) | (image >= 1.0 - STUCK_LEVEL)).all(axis=-1)
    found = np.zeros((height, width), bool)
    rows, cols = np.nonzero(saturated)
    for begin in range(0, len(rows), STUCK_CHUNK):
        ys, xs = rows[begin : begin + STUCK_CHUNK], cols[begin : begin + STUCK_CHUNK]
        # The 8 neighbours, the picture's edge repeated beyond it: (8, K, C) values, (8, K, 1) flags.
        near = [
            (np.clip(ys + dy, 0, height - 1), np.clip(xs + dx, 0, width - 1))
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if dy or dx
        ]
        others = np.stack([image[y, x] for y, x in near])
        stuck_beside = np.stack([saturated[y, x] for y, x in near])[..., None]
        # Apart from all but two of its neighbours (a stuck pair or corner of three counts), and from
        # every neighbour that is not saturated too (a thin bright line's pixels are alike along it).
        ranked = np.sort(others, axis=0)
        brightest = np.maximum(ranked[-1 - STUCK_ALIKE], np.where(stuck_beside, -np.inf, others).max(axis=0))
        darkest = np.minimum(ranked[STUCK_ALIKE], np.where(stuck_beside, np.inf, others).min(axis=0))
        value = image[ys, xs]
        apart = ((value - brightest > STUCK_APART) | (darkest - value > STUCK_APART)).any(axis=-1)
        found[ys[apart], xs[apart]] = True
    return _small_groups(found)


def _small_groups(found: np.ndarray) -> np.ndarray:
    """`found` without its groups (8-connected) of more than STUCK_GROUP_MOST pixels: a thin line of
    the picture clipped to white passes the neighbour test pixel by pixel, a stuck group is small."""
    from scipy import ndimage

    labels, _count = ndimage.label(found, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel())
    keep = sizes <= STUCK_GROUP_MOST
    keep[0] = False  # the background
    return keep[labels]


LINE_BAND = 256  # candidate lines judged at a time: bounds the memory on a 24-megapixel photo


def _dead_rows(brightness: np.ndarray) -> np.ndarray:
    """Bool (H,): rows of `brightness` (H, W) that belong to a dead line."""
    height = brightness.shape[0]
    dead = np.zeros(height, bool)
    for thickness in LINE_THICKNESS:
        starts = height - thickness - 1  # a line needs a row on each side
        for first in range(0, max(starts, 0), LINE_BAND):
            count = min(LINE_BAND, starts - first)
            for start in np.flatnonzero(_lines_in_band(brightness, first, count, thickness)) + first + 1:
                dead[start : start + thickness] = True
    return dead


def _lines_in_band(brightness: np.ndarray, first: int, count: int, thickness: int) -> np.ndarray:
    """Bool (count,): whether the `thickness` rows after each of rows first..first+count-1 are a line."""
    above = np.ascontiguousarray(brightness[first : first + count])
    below = np.ascontiguousarray(brightness[first + thickness + 1 : first + thickness + 1 + count])
    bright = np.full(above.shape, np.inf, np.float32)
    dark = np.full(above.shape, np.inf, np.float32)
    for offset in range(1, thickness + 1):
        row = np.ascontiguousarray(brightness[first + offset : first + offset + count])
        bright = np.minimum(bright, np.minimum(row - above, row - below))
        dark = np.minimum(dark, np.minimum(above - row, below - row))
    # Brighter than both sides or darker than both, pixel by pixel: a line of one grey crosses both
    # darker and brighter content.
    margin = np.maximum(bright, dark)
    return (np.median(margin, axis=1) >= LINE_MEDIAN_MARGIN) & (
        np.mean(margin > LINE_STEP, axis=1) >= LINE_SHARE
    )


def dead_lines(image: np.ndarray) -> np.ndarray:
    """Bool (H, W): the rows and columns of `image` (H, W, C) or (H, W) in [0, 1] that are dead lines."""
    brightness = _planes(image).mean(axis=-1)
    marked = np.zeros(brightness.shape, bool)
    marked[_dead_rows(brightness)] = True
    marked[:, _dead_rows(brightness.T)] = True
    return marked


def exact_defects(image: np.ndarray) -> np.ndarray:
    """Bool (H, W): stuck pixels and dead lines of `image` (H, W, C) in [0, 1]."""
    return stuck_pixels(image) | dead_lines(image)
