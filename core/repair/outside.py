"""What lies outside a scan's imaged body, which a whole-picture filter must leave exactly as it was.

- A DICOM's PixelPaddingValue: viewers hide those pixels by that value, and a denoiser had made a
  ring of -1499 ... -1490 HU "tissue" of them.
- A masked volume's background (a skull-stripped MR, a brain-extracted or masked NIfTI): runs of the
  volume's lowest value that reach a slice's edge and are largely solid, where they cover a large
  part of the volume. Masks built as "background == 0" (fslmaths -bin, a brain-extraction check)
  must still hold: the scan denoiser had made 541,741 of FLAIR's zero voxels non-zero, up to 59
  voxels from the brain (a walk-through). A noisy background merely clipped at its lowest value is
  not solid (an opening removes it), so it is denoised as any other."""

from __future__ import annotations

import numpy as np

MASKED_SHARE = 0.10  # of the voxels: less than this of solid lowest value at the edges is not a mask
REGION_SHARE = 0.01  # of a slice: a run at the edge with less of it solid is left to the filter
SQUARE = np.ones((5, 5), bool)  # a patch clipped noise almost never fills whole (0.62 ** 25 ~ 6e-6)


def outside_of(doc) -> tuple[np.ndarray | None, str]:
    """((frames, H, W) bool: the pixels to keep as they are, or None; what they are, for the record)."""
    pixels = getattr(doc, "pixels", None)
    if pixels is None or getattr(doc, "kind", "") != "volume":
        return None, ""
    padding = (getattr(doc, "metadata", None) or {}).get("padding_value")
    if padding is not None:
        outside = (pixels == np.float32(padding)).all(axis=-1)
        return (outside, f"padding value {padding:g}") if outside.any() else (None, "")
    background = _masked_background(pixels)
    if background is None:
        return None, ""
    return background, f"masked background (value {float(pixels.min()):g} reaching the slices' edges)"


def _masked_background(pixels: np.ndarray) -> np.ndarray | None:
    from scipy import ndimage

    if pixels.shape[0] < 2 or pixels.shape[-1] != 1 or not np.isfinite(pixels).all():
        return None
    lowest = pixels[..., 0] == pixels.min()
    if lowest.mean() < MASKED_SHARE:
        return None
    edge = np.zeros(lowest.shape[1:], bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    kept = np.zeros_like(lowest)
    for k, plane in enumerate(lowest):  # per slice: runs of the lowest value reaching the edge
        labels, count = ndimage.label(plane)
        if not count:
            continue
        # solid: what survives an opening by a 5x5 square (clipped noise has almost no such patch)
        solid = np.bincount(labels[ndimage.binary_opening(plane, SQUARE)], minlength=count + 1)
        keep = np.zeros(count + 1, bool)
        keep[np.unique(labels[edge])] = True
        keep &= solid >= REGION_SHARE * plane.size
        keep[0] = False
        kept[k] = keep[labels]
    return kept if kept.mean() >= MASKED_SHARE else None
