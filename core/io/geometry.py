"""Where a volume's voxels lie in the world, whatever format it was read from.

Each format family that knows it says so through its `FileFormat.placement` hook (a NIfTI's affine, a
DICOM series' slice positions and orientation); the rules built on it (a mask's grid, a slice's
position, a gantry tilt) live here, so that no one outside a format's module looks inside its header.
"""

from __future__ import annotations

import numpy as np

from core.io.formats import owner


def placement(doc) -> tuple[np.ndarray, tuple[int, ...] | None] | None:
    """(the voxel-to-world affine of the volume `doc` was read from, voxel (i, j, k) = (column, row,
    slice) to world mm; that volume's shape (columns, rows, slices), None where not known), or None
    where its file does not say (spacing alone places no voxel)."""
    fmt = owner(doc) if getattr(doc, "kind", "") == "volume" else None
    return fmt.placement(doc) if fmt is not None and fmt.placement is not None else None


def grid_affine(doc) -> np.ndarray | None:
    """The affine of `placement`, or None."""
    placed = placement(doc)
    return None if placed is None else np.asarray(placed[0], np.float64)


def slice_positions(doc) -> list[float]:
    """Each slice's position along the slices' normal in mm, for showing where a slice lies: the
    reader's own where it measured them (a DICOM series), else from the affine (its centre voxel's
    world position projected on the normal); [] where the file does not say, and for a repair that
    changed the grid (thinner slices, an enlargement)."""
    if getattr(doc, "positions", None):
        return list(doc.positions)
    placed = placement(doc)
    height, width = doc.pixels.shape[1:3]
    if placed is None or list(placed[1] or [])[:3] != [width, height, doc.slices]:
        return []
    affine = np.asarray(placed[0], float)
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    if not np.linalg.norm(normal):
        return []
    normal /= np.linalg.norm(normal)
    centre = affine[:3, :3] @ np.array([(width - 1) / 2, (height - 1) / 2, 0.0]) + affine[:3, 3]
    step = float(normal @ affine[:3, 2])
    first = float(normal @ centre)
    return [first + k * step for k in range(doc.slices)] * max(doc.time_points, 1)


# Ultrasound, angiography, fluoroscopy, endoscopy: several frames of one of these are a loop in time
CINE_MODALITIES = ("US", "XA", "RF", "ES")


def frames_over_time(doc) -> bool:
    """Whether a volume's frames are one view over time (an ultrasound or X-ray cine loop) rather than
    slices through the body: a cine modality's frames that its file places nowhere in space."""
    if getattr(doc, "kind", "") != "volume" or doc.slices < 2:
        return False
    return str(doc.modality).upper() in CINE_MODALITIES and placement(doc) is None


def slice_tilt(affine: np.ndarray) -> float | None:
    """How many degrees the slice axis leans off the slice planes' normal (a CT's gantry tilt, as
    dcm2niix writes it into the affine as a shear), or None within half a degree."""
    columns, rows, through = affine[:3, 0], affine[:3, 1], affine[:3, 2]
    normal = np.cross(columns, rows)
    if not np.linalg.norm(normal) or not np.linalg.norm(through):
        return None
    normal /= np.linalg.norm(normal)
    cosine = abs(float(np.dot(normal, through))) / float(np.linalg.norm(through))
    degrees = float(np.degrees(np.arccos(min(cosine, 1.0))))
    return degrees if degrees >= 0.5 else None
