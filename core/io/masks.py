"""Repair masks as image files: any image the size of the input; non-zero = repair, and the value
is the alpha the repair gets there (255 of 8 bits = all of it, gray = a soft edge; a mask of only 0
and 1 is hard). A scan's mask may also be a volume on its grid (a NIfTI mask), every non-zero voxel
repaired. The rules of what a mask does are the mask contract's (core.repair.masks)."""

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
    stored = doc.dtype if doc.dtype in ("uint8", "uint16") else "float32"
    return alpha_of(values.astype(stored))


def read_volume_mask(mask, path: Path, document) -> np.ndarray:
    """(frames, H, W) float32 alphas from the volume `mask` read from `path` (a NIfTI label or mask,
    as FSL, ITK-SNAP or 3D Slicer save them) on the grid of the volume `document`: the same slices of
    the same size, in the same order; a 3-D mask of a 4-D series applies to every time point. Every
    non-zero voxel is repaired (a label map's every label; a probability map's every non-zero
    voxel). A NIfTI mask whose voxel-to-world matrix differs from the volume's lies on another grid
    and is refused: resample it first."""
    pixels = np.asarray(mask.pixels)
    frames, height, width = document.pixels.shape[:3]
    slices = document.slices
    if pixels.shape[0] not in (frames, slices) or pixels.shape[1:3] != (height, width):
        shown = "×".join(map(str, (*pixels.shape[2:0:-1], pixels.shape[0])))
        raise MethodError(
            f"{path.name}: a volume's mask must be on its grid ({width}×{height}×{slices} voxels);"
            f" this one is {shown}"
        )
    if _affine(mask) is not None and _affine(document) is not None:
        if not np.allclose(_affine(mask), _affine(document), atol=1e-3):
            raise MethodError(
                f"{path.name}: the mask is on another grid than the scan (its voxel-to-world matrix"
                " differs): resample it onto the scan first"
            )
    alphas = (np.abs(pixels).max(axis=-1) > 0).astype(np.float32)  # labels of any value
    return np.tile(alphas, (frames // len(alphas), 1, 1)) if len(alphas) != frames else alphas


def _affine(document):
    """A NIfTI document's voxel-to-world matrix, None for other files."""
    from core.io.nifti import NiftiHeader

    writeback = getattr(document, "writeback", None)
    return np.asarray(writeback.affine, np.float64) if isinstance(writeback, NiftiHeader) else None


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
