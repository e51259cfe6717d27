"""Walking an input tree into batch items: each image, NIfTI, audio and video file is one item, and
so is each folder holding DICOM files (the series is read as a whole).

An item's key is its path relative to the input folder (POSIX form): it names the item in the
manifest and, re-rooted in the output folder, where its result goes.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# What a file is, as the format registry tells it (core.io.formats): "image", "dicom", "nifti", "audio",
# "video", or "" (not ours).
KINDS = ("image", "dicom", "nifti", "audio", "video")


@dataclass(frozen=True)
class Item:
    key: str  # relative POSIX path of the file or series folder; "." for the input folder itself
    kind: str  # one of KINDS, or "unreadable" when the file cannot even be opened
    source: Path


def file_kind(path: Path) -> str:
    """The kind of a file from its first bytes (then its name); "unreadable" if it cannot be opened."""
    from core.io.formats import sniff

    try:
        fmt = sniff(path)
    except OSError:
        return "unreadable"
    return fmt.name if fmt is not None else ""


def selected(key: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """Globs match the relative path or the bare name: `*.png`, `scans/*`, `2019/**/*.tif`."""

    def matches(glob: str) -> bool:
        return fnmatch.fnmatch(key, glob) or fnmatch.fnmatch(PurePosixPath(key).name, glob)

    include, exclude = list(include), list(exclude)
    if include and not any(matches(g) for g in include):
        return False
    return not any(matches(g) for g in exclude)


def find_items(
    root: Path,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    skip: Iterable[Path] = (),
) -> Iterator[Item]:
    """The items under `root` in a stable order. Hidden files and folders, files no reader knows, and
    the folders in `skip` (an output folder inside the input) are left out."""
    root = Path(root)
    skipped = {Path(p).resolve() for p in skip}
    include, exclude = list(include), list(exclude)
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in skipped
        )
        rel_folder = here.relative_to(root).as_posix()
        holds_dicom = False
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            key = name if rel_folder == "." else f"{rel_folder}/{name}"
            if not selected(key, include, exclude):
                continue
            kind = file_kind(path)
            if kind == "dicom":
                holds_dicom = True
            elif kind:
                yield Item(key, kind, path)
        if holds_dicom:
            yield Item(rel_folder, "dicom", here)
