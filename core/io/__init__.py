"""File formats: read(path) -> document, write(document, path) -> path actually written.

Readers check declared sizes against `limits.MAX_PIXELS` / `limits.MAX_SAMPLES` before decoding and
raise `ReadError` subclasses naming the file and what is wrong. Writers never overwrite the source,
write atomically and record provenance (in the file where the format has room, and always in
`<output>.lacuna.json`).

    doc = read("scan.dcm")                   # ImageDoc, VolumeDoc or AudioDoc
    write(result, "scan_denoised.dcm")        # refuses existing files unless overwrite=True
    write(result, "photo.png", overwrite_policy="rename")   # -> "photo_2.png" if taken
    mask = read_mask("mask.png", (height, width))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.documents import Document


def read(path: str | Path) -> Document:
    from core.io.dispatch import read_any

    return read_any(Path(path))


def write(document: Document, path: str | Path, **options) -> Path:
    """Options: overwrite=False, overwrite_policy="refuse"|"rename", sidecar=True, and per format
    quality= (JPEG/WebP), subtype= (audio), codec= and on_progress= (video: a repair's frames are
    computed while the video is written, and report through it)."""
    from core.io.dispatch import write_any

    return write_any(document, Path(path), **options)


def read_mask(path: str | Path, shape_hw: tuple[int, int]) -> np.ndarray:
    from core.io.masks import read_mask as _read_mask

    return _read_mask(path, shape_hw)


def write_mask(mask: np.ndarray, path: str | Path, overwrite: bool = False, provenance=()) -> Path:
    from core.io.masks import write_mask as _write_mask

    return _write_mask(mask, path, overwrite=overwrite, provenance=provenance)


def list_series(folder: str | Path, recursive: bool = True) -> list[dict]:
    """The DICOM series in a folder, largest first (index them for `read_series`)."""
    from core.io.dicom import list_series as _list_series

    return _list_series(Path(folder), recursive)


def read_series(folder: str | Path, index: int = 0, recursive: bool = True) -> Document:
    from core.io.dicom import read_dicom_folder

    return read_dicom_folder(Path(folder), index, recursive)


__all__ = ["read", "write", "read_mask", "write_mask", "list_series", "read_series"]
