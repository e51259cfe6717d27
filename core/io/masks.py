"""Repair masks as image files: any image the size of the input; non-zero = repair."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.documents import AudioDoc, ImageDoc
from core.errors import MethodError


def read_mask(path: str | Path, shape_hw: tuple[int, int]) -> np.ndarray:
    """A boolean (H, W) mask from an image file; True where any colour channel is non-zero.

    An RGBA mask whose colour is black everywhere (a transparent layer painted with alpha only) is
    read from its alpha channel instead.
    """
    from core.io.dispatch import read_any

    path = Path(path)
    doc = read_any(path)
    if isinstance(doc, AudioDoc):
        raise MethodError(f"{path.name}: a mask must be an image, not audio")
    pixels = np.asarray(doc.pixels)
    if pixels.shape[0] != 1:
        raise MethodError(
            f"{path.name}: a mask must be a single image, this file holds {pixels.shape[0]} frames"
        )
    frame = pixels[0]
    height, width = frame.shape[:2]
    want_h, want_w = int(shape_hw[0]), int(shape_hw[1])
    if (height, width) != (want_h, want_w):
        raise MethodError(
            f"{path.name}: the mask is {width}×{height} pixels but the image is {want_w}×{want_h}"
        )
    colour = frame[..., :3] if frame.shape[-1] >= 3 else frame[..., :1]
    mask = np.any(colour != 0, axis=-1)
    if frame.shape[-1] == 4 and not mask.any():
        mask = frame[..., 3] != 0
    return mask


def write_mask(mask: np.ndarray, path: str | Path, overwrite: bool = False) -> Path:
    """Save a boolean mask as an 8-bit PNG (255 = repair, 0 = keep); returns the path written."""
    from core.io.dispatch import write_any

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise MethodError(f"a mask must be 2-D (height, width), not shape {mask.shape}")
    pixels = np.where(mask != 0, 255.0, 0.0).astype(np.float32)[None, :, :, None]
    doc = ImageDoc(pixels=pixels, path=None, format="PNG", dtype="uint8", mode="L")
    return write_any(doc, Path(path), overwrite=overwrite, sidecar=False)
