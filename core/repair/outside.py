"""What lies outside a scan's imaged body, which a whole-picture filter must leave exactly as it was.

- A DICOM's PixelPaddingValue: viewers hide those pixels by that value, and a denoiser had made a
  ring of -1499 ... -1490 HU "tissue" of them.
- A masked volume's background (a skull-stripped MR, a brain-extracted or masked NIfTI): the run of
  the volume's lowest value that reaches each slice's edge, where it covers a large part of the
  volume. Masks built as "background == 0" (fslmaths -bin, a brain-extraction check) must still
  hold: the scan denoiser had made 541,741 of FLAIR's zero voxels non-zero, up to 59 voxels from the
  brain (a walk-through)."""

from __future__ import annotations

import numpy as np

MASKED_SHARE = 0.10  # of the voxels: less than this of the lowest value at the edges is not a mask


def outside_of(doc) -> np.ndarray | None:
    """(frames, H, W) bool: the pixels to keep as they are, or None where there are none."""
    pixels = getattr(doc, "pixels", None)
    if pixels is None or getattr(doc, "kind", "") != "volume":
        return None
    padding = (getattr(doc, "metadata", None) or {}).get("padding_value")
    if padding is not None:
        outside = (pixels == np.float32(padding)).all(axis=-1)
        return outside if outside.any() else None
    return _masked_background(pixels)


def _masked_background(pixels: np.ndarray) -> np.ndarray | None:
    from scipy import ndimage

    if pixels.shape[0] < 2 or pixels.shape[-1] != 1 or not np.isfinite(pixels).all():
        return None
    lowest = (pixels[..., 0] == pixels.min()).copy()
    if lowest.mean() < MASKED_SHARE:
        return None
    edge = np.zeros(lowest.shape[1:], bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    for k, plane in enumerate(lowest):  # per slice: the lowest value's runs that reach the edge
        labels, count = ndimage.label(plane)
        touching = np.unique(labels[edge & plane])
        lowest[k] = np.isin(labels, touching[touching > 0]) if count else plane
    return lowest if lowest.mean() >= MASKED_SHARE else None
