"""BT.601 luma, the brightness JPEG codes as Y and Pillow's "L" keeps: the one place its weights are
written for the methods, the detectors and the noise and quality estimates."""

from __future__ import annotations

import numpy as np

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # of R, G, B


def luma_of(image: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(H, W) brightness of an (H, W) or (H, W, C) image: a gray image's own channel, the weighted sum
    of R, G and B otherwise (alpha, if any, ignored)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(dtype, copy=False)
    if image.shape[-1] >= 3:
        return image[..., :3].astype(dtype, copy=False) @ np.asarray(LUMA_WEIGHTS, dtype)
    return image[..., 0].astype(dtype, copy=False)
