"""Held-back slices of a scan for the volume benches (`bench inpaint --set`, `bench denoise --set` on a
NIfTI file or DICOM series): which slices are scored, where the body is on them, and errors in the
scan's own units (HU for CT).

The body is what a clinician looks at: voxels above an Otsu threshold of the volume (the padding
value, the volume's minimum, left out so it does not pull the threshold), per slice its largest
connected part with its holes filled. Scores are taken over the body or a hole inside it, never over
air or padding, which every method gets right and which would flatter them all alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.bench.common import SUFFIXES
from core.errors import LacunaError


def volume_set(path: str):
    """The scan when a bench's `--set` is a volume: a NIfTI file, or a DICOM series folder, of three or
    more slices (so an interior slice has neighbours); None for a folder of images or a single DICOM
    file, even a multi-frame one, which keep the per-image protocols."""
    from core.io import read

    target = Path(path)
    nifti = target.is_file() and target.name.lower().endswith((".nii", ".nii.gz"))
    series = target.is_dir() and not any(p.suffix.lower() in SUFFIXES for p in target.iterdir())
    if not (nifti or series):
        return None
    document = read(target)
    if getattr(document, "kind", "") != "volume" or document.pixels.shape[0] < 3:
        return None
    return document


def body_masks(volume: np.ndarray) -> np.ndarray:
    """bool (frames, H, W): the body on each slice of `volume` (frames, H, W, C)."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    planes = volume[..., 0].astype(np.float64)
    floor = planes.min()
    inside = planes[planes > floor]
    if inside.size == 0:
        raise LacunaError("the volume is empty (every voxel has the same value)")
    threshold = threshold_otsu(inside[:: max(1, inside.size // 2_000_000)])
    bodies = np.zeros(planes.shape, bool)
    for k, plane in enumerate(planes):
        labels, count = ndimage.label(plane > threshold)
        if count:
            largest = 1 + int(np.argmax(ndimage.sum_labels(np.ones_like(plane), labels, range(1, count + 1))))
            bodies[k] = ndimage.binary_fill_holes(labels == largest)
    return bodies


def held_back(bodies: np.ndarray, limit: int) -> list[int]:
    """Up to `limit` interior slices, evenly spread over those with a fair share of body (at least a
    third of the largest slice's), none next to another (each keeps intact neighbours)."""
    area = bodies.reshape(bodies.shape[0], -1).sum(axis=1)
    candidates = [k for k in range(1, bodies.shape[0] - 1) if area[k] >= area.max() / 3]
    spaced = candidates[::2]
    if not spaced:
        raise LacunaError("no interior slice of the volume shows enough of the body to score on")
    count = min(limit or len(spaced), len(spaced))
    picks = np.linspace(0, len(spaced) - 1, count).round().astype(int)
    return sorted({spaced[i] for i in picks})


def hole_in_body(body: np.ndarray, kind: str, seed: int, margin: int = 6) -> np.ndarray:
    """A LaMa-style hole (core.masks) kept inside the body, at least `margin` pixels from its edge so
    that its rim is anatomy too; redrawn with the next seeds when too little of it is inside."""
    from scipy import ndimage

    from core.masks import random_mask

    inner = ndimage.binary_erosion(body, iterations=margin)
    for attempt in range(20):
        hole = random_mask(*body.shape, kind, seed=seed + 1000 * attempt) & inner
        if hole.sum() >= 0.02 * inner.sum():
            return hole
    raise LacunaError(f"no {kind} hole fits inside the body of this slice")


def errors(truth: np.ndarray, result: np.ndarray, where: np.ndarray, peak: float) -> dict[str, float]:
    """MAE and RMSE in the scan's units and PSNR (dB, peak: the volume's value range) over `where`."""
    diff = result[where].astype(np.float64) - truth[where].astype(np.float64)
    mse = float(np.mean(diff**2))
    return {
        "mae": float(np.abs(diff).mean()),
        "rmse": mse**0.5,
        "psnr": 10 * np.log10(peak**2 / max(mse, 1e-12)),
    }
