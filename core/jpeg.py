"""The JPEG block grid: the IJG luminance table at any quality, 8×8 blocks, and the quality a decoded
picture was saved at (from where its block DCT coefficients sit). Used by JPEG artifact removal and
by what Lacuna says of a JPEG it opens (`lacuna info`, the app's proposal of JPEG repair)."""

from __future__ import annotations

from typing import Any

import numpy as np

BLOCK = 8
# pixels a side of the picture's middle read to tell a JPEG's quality: fast enough to ask on opening
QUALITY_CROP = 256


# The IJG/libjpeg luminance table at quality 50; Pillow scales it like libjpeg's jpeg_set_quality.
LUMA_TABLE_50 = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    np.float64,
)


def luma_table(quality: int) -> np.ndarray:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((LUMA_TABLE_50 * scale + 50) / 100), 1, 255)


def blocks(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    return plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)


def unblocks(grid: np.ndarray) -> np.ndarray:
    n, m = grid.shape[:2]
    return grid.transpose(0, 2, 1, 3).reshape(n * BLOCK, m * BLOCK)


def estimate_quality(plane255: np.ndarray) -> int | None:
    """The IJG quality whose luminance table the aligned block DCT coefficients sit on, or None.

    A decoded JPEG's coefficients are (up to pixel rounding) multiples of its quantization steps.
    Scanning from the coarsest table, the first one leaving a residual far below the uniform error
    of an unrelated table (12 (r/Q)^2 ~ 1) is the quality used; finer tables that divide it come later.
    """
    from scipy.fft import dctn

    h, w = plane255.shape
    coef = dctn(blocks(plane255[: h - h % BLOCK, : w - w % BLOCK] - 128.0), axes=(2, 3), norm="ortho")
    for quality in range(1, 101):
        table = luma_table(quality)
        used = np.abs(coef) >= table / 2
        if used.sum() < 50:
            continue
        residual = (coef - np.round(coef / table) * table) / table
        if 12.0 * np.mean(residual[used] ** 2) < 0.25:
            return quality
    return None


def saved_quality(doc: Any) -> int | None:
    """The IJG quality a JPEG document was saved at, from the middle of its first frame; None for
    other documents and where the coefficients fit no table."""
    if getattr(doc, "format", "") != "JPEG" or getattr(doc, "pixels", None) is None:
        return None
    from core.luma import luma_of

    return grid_layout(luma_of(doc.pixels[0]).astype(np.float64))[1]


# EXIF orientations, the usual first: a camera's portrait shot is stored turned (6 or 8)
ORIENTATIONS = (1, 6, 8, 3, 2, 4, 5, 7)


def grid_layout(plane255: np.ndarray) -> tuple[int, int | None]:
    """(EXIF orientation, quality): the orientation whose stored layout of this upright plane puts its
    8x8 block grid where a JPEG's coefficients sit, and the quality found there; (1, None) where none
    does. A picture shown turned by its EXIF tag was compressed as stored, on that layout's grid
    (walk-through 43: a portrait camera JPEG showed no quality and dejpeg-reapply changed nothing)."""
    from core.io.fill import stored_view

    for orientation in ORIENTATIONS:
        stored = stored_view(plane255[..., None], orientation)[..., 0]
        height, width = stored.shape
        top = (max(height - QUALITY_CROP, 0) // 2) // BLOCK * BLOCK
        left = (max(width - QUALITY_CROP, 0) // 2) // BLOCK * BLOCK
        crop = stored[top : top + QUALITY_CROP, left : left + QUALITY_CROP]
        quality = estimate_quality(crop) if min(crop.shape) >= 2 * BLOCK else None
        if quality is not None:
            return orientation, quality
    return 1, None
