"""Repair masks as image files: any image the size of the input; non-zero = repair, and the value
is the alpha the repair gets there (255 of 8 bits = all of it, gray = a soft edge; a mask of only 0
and 1 is hard). A scan's mask may also be a volume on its grid (a NIfTI mask: its labels repaired
whole, a probability map's fractions as alpha). The rules of what a mask does are the mask
contract's (core.repair.masks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.documents import ImageDoc
from core.errors import MethodError
from core.repair.masks import alpha_of


def read_mask(path: str | Path, shape_hw: tuple[int, int]) -> np.ndarray:
    """A float32 (H, W) alpha in [0, 1] from an image file: the largest colour channel, as a
    fraction of the stored type's full scale.

    An RGBA mask whose colour is black everywhere (a transparent layer painted with alpha only) is
    read from its alpha channel instead.
    """
    from core.io.dispatch import read_any

    path = Path(path)
    return _picture_alpha(read_any(path), path, shape_hw)


def read_scan_mask(path: str | Path, document) -> np.ndarray:
    """The mask of a volume `document`: (H, W) from a picture (one slice's mask, applied where the
    repair says), or (frames, H, W) from a volume file on the scan's grid (`read_volume_mask`)."""
    from core.io.dispatch import read_any

    path = Path(path)
    mask = read_any(path)
    if mask.kind == "volume" and np.asarray(mask.pixels).shape[0] > 1:
        return read_volume_mask(mask, path, document)
    return _picture_alpha(mask, path, document.pixels.shape[1:3])


def _picture_alpha(doc, path: Path, shape_hw: tuple[int, int]) -> np.ndarray:
    if doc.kind not in ("image", "volume"):
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
    values = colour.max(axis=-1)
    if frame.shape[-1] == 4 and not values.any():
        values = frame[..., 3]
    stored = getattr(doc, "dtype", "float32")  # a volume's values are floats in its units
    stored = stored if stored in ("uint8", "uint16") else "float32"
    return alpha_of(values.astype(stored))


def read_volume_mask(mask, path: Path, document) -> np.ndarray:
    """(frames, H, W) float32 alphas from the volume `mask` read from `path` (a NIfTI label or mask,
    as FSL, ITK-SNAP or 3D Slicer save them) on the grid of the volume `document` (NIfTI or DICOM):
    where both say where their voxels lie, the mask is put on the scan's voxels (a converter's flipped
    or swapped axes undone; its sform or qform matched against the scan's), and one on another grid is
    refused; a mask without that geometry is taken slice for slice. A 3-D mask of a 4-D series applies
    to every time point. Its values follow `core.repair.masks.label_alpha`."""
    from core.repair.masks import label_alpha

    values = np.asarray(mask.pixels).max(axis=-1)  # (frames, H, W): the largest channel
    scans, owns = grid_affines(document), grid_affines(mask)
    if owns and len(values) > 1:
        if not scans:
            raise MethodError(
                f"{path.name}: this scan does not say where its voxels lie, so a mask that does cannot be"
                " placed on it: give one picture per slice (NAME_0000.png ...)"
            )
        values = _on_scan_grid(values, owns, scans, document, path)
    frames, height, width = document.pixels.shape[:3]
    slices = document.slices
    if values.shape[0] not in (frames, slices) or values.shape[1:3] != (height, width):
        shown = "×".join(map(str, (*values.shape[2:0:-1], values.shape[0])))
        raise MethodError(
            f"{path.name}: a volume's mask must be on its grid ({width}×{height}×{slices} voxels);"
            f" this one is {shown}"
        )
    alphas = label_alpha(values)
    return np.tile(alphas, (frames // len(alphas), 1, 1)) if len(alphas) != frames else alphas


def grid_affines(doc) -> list[np.ndarray]:
    """Where a volume's voxels lie: its voxel-to-world matrices (a NIfTI's sform and, where set and
    different, its qform, which ITK-based tools write when the sform holds a shear; a DICOM series'
    from its slices' positions), [] where the file does not say."""
    from core.io.geometry import grid_affine
    from core.io.nifti import qform_of

    own = grid_affine(doc)
    if own is None:
        return []
    qform = qform_of(doc)
    return [own] if qform is None or np.allclose(qform, own, atol=1e-3) else [own, qform]


def _on_scan_grid(values: np.ndarray, owns, scans, document, path: Path) -> np.ndarray:
    """`values` (slices, rows, columns) moved onto the scan's voxels: the same grid stored with its
    axes flipped or swapped is put back in the scan's order; any other grid is refused."""
    from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation, ornt_transform

    from core.io.geometry import slice_tilt

    if values.shape[0] != document.slices:  # a 4-D mask: on the scan's grid as stored, or refused
        if any(np.allclose(own, scan, atol=1e-3) for own in owns for scan in scans):
            return values
        owns = []
    stored = values.transpose(2, 1, 0)  # (i, j, k), as the file stores it
    for own in owns:
        for scan in scans:
            turn = ornt_transform(io_orientation(own), io_orientation(scan))
            moved = apply_orientation(stored, turn)
            if np.allclose(own @ inv_ornt_aff(turn, stored.shape), scan, atol=1e-3):
                return np.ascontiguousarray(moved.transpose(2, 1, 0))
    tilts = [t for t in map(slice_tilt, scans) if t]
    if tilts and not any(slice_tilt(own) for own in owns):  # a qform cannot hold a shear
        raise MethodError(
            f"{path.name}: the scan's slices are tilted by {tilts[0]:.1f}° (a gantry tilt) and the"
            " mask's voxel-to-world matrix holds no tilt (a qform cannot): save the mask with the"
            " scan's sform, or resample it onto the scan"
        )
    raise MethodError(
        f"{path.name}: the mask is on another grid than the scan (its voxel-to-world matrix differs):"
        " resample it onto the scan first"
    )


def numbered_mask_path(path: str | Path, number: int) -> Path:
    """`mask.png` -> `mask_0003.png`: the mask of frame (or slice) number 3 of several, as `lacuna
    detect -o mask.png` writes them and `lacuna repair --mask mask.png` reads them."""
    path = Path(path)
    return path.with_name(f"{path.stem}_{number:04d}{path.suffix}")


def numbered_masks(path: str | Path) -> list[int]:
    """The numbers of the masks beside `path` named as `numbered_mask_path` names them, in order."""
    path = Path(path)
    numbers = []
    for found in path.parent.glob(f"{path.stem}_[0-9][0-9][0-9][0-9]{path.suffix}"):
        numbers.append(int(found.stem[len(path.stem) + 1 :]))
    return sorted(numbers)


def read_numbered_masks(path: str | Path, shape_hw: tuple[int, int], numbers: list[int]) -> np.ndarray:
    """(len(numbers), H, W) alphas, one from each numbered mask of `path`; a missing one is refused
    by name (a frame without its mask would be repaired with none, or with another's)."""
    missing = [n for n in numbers if not numbered_mask_path(path, n).is_file()]
    if missing:
        name = numbered_mask_path(path, missing[0]).name
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MethodError(
            f"{name}: no such mask{more}; `lacuna detect -o {Path(path).name}` writes one per frame"
        )
    return np.stack([read_mask(numbered_mask_path(path, n), shape_hw) for n in numbers])


def write_mask(mask: np.ndarray, path: str | Path, overwrite: bool = False, provenance=()) -> Path:
    """Save a mask (bool, 8-bit alpha or float alpha) as an 8-bit PNG (255 = repair, 0 = keep, gray
    = a soft edge) that `read_mask` reads back to the same alpha; returns the path written.
    `provenance` (Provenance steps) is embedded: what made the mask (a detector and its threshold)."""
    from core.io.dispatch import write_any

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise MethodError(f"a mask must be 2-D (height, width), not shape {mask.shape}")
    pixels = np.rint(alpha_of(mask) * np.float32(255.0))[None, :, :, None]
    doc = ImageDoc(
        pixels=pixels, path=None, format="PNG", dtype="uint8", mode="L", provenance=list(provenance)
    )
    return write_any(doc, Path(path), overwrite=overwrite, sidecar=False)
