"""The file-format registry: one entry per format family (images, DICOM, NIfTI, audio, ...).

Each family module declares a `FORMAT` (a `FileFormat`): how to recognise its files (magic bytes
first, names second), how to read one into a document, which document kinds it writes under which
extensions, and how to describe a document it read for `lacuna info`. Readers and writers are
chosen here and nowhere else; adding a format is one family module plus one name in `FAMILIES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.documents import Document
from core.errors import UnsupportedFormatError, WriteError
from core.io.naming import full_suffix

# Family modules in sniffing order: DICOM before images (its 128-byte preamble may itself look like a
# TIFF), video before audio (an AVI is a RIFF file), DICOM last among folder readers (any folder).
FAMILIES = ("core.io.video", "core.io.dicom", "core.io.images", "core.io.audio", "core.io.nifti")
HEAD_BYTES = 352  # enough for every magic number checked (the NIfTI-1 magic sits at byte 344)


@dataclass(frozen=True)
class Written:
    """What a writer did: the path it wrote and what the format could not hold (for the sidecar)."""

    path: Path
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileFormat:
    """A format family. `writes` maps a document kind to the extensions written for it ("" means a
    name without extension, or a folder); the first extension is the default for that kind."""

    name: str
    title: str  # for messages: "images: PNG, JPEG, TIFF, BMP, WebP"
    extensions: tuple[str, ...]
    magic: Callable[[bytes], bool]
    read: Callable[[Path], Document]
    write: Callable[..., Written] | None = None
    writes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # what `lacuna info` shows: describe(doc, scan), scan = a full decode to look for damage is allowed
    describe: Callable[[Document, bool], dict[str, Any]] | None = None
    saved_as: dict[str, str] = field(default_factory=dict)  # document `format` -> its usual extension
    # which folders it reads (a DICOM series, a numbered image sequence)
    reads_folder: Callable[[Path], bool] | None = None
    # a last, slower check for files neither magic bytes nor name identify
    probe: Callable[[Path, bytes], bool] | None = None
    # the format's own header for one frame (a DICOM dataset), for tag views
    header: Callable[[Document, int], Any] | None = None
    # refuses, before any work, a document the target cannot hold (several pages in a PNG): check(doc, target)
    fits: Callable[[Document, Path], None] | None = None
    # where a volume's voxels lie: (the source's voxel-to-world affine, its shape (columns, rows,
    # slices)) or None where the file does not say (core.io.geometry builds on it)
    placement: Callable[[Document], tuple[Any, tuple[int, ...] | None] | None] | None = None


def formats() -> tuple[FileFormat, ...]:
    return tuple(importlib.import_module(module).FORMAT for module in FAMILIES)


def get(name: str) -> FileFormat:
    for fmt in formats():
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def sniff(path: Path) -> FileFormat | None:
    """The format of a file from its first bytes, then its name, then each format's own probe."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    known = formats()
    for fmt in known:
        if fmt.magic(head):
            return fmt
    ext = full_suffix(path).lower()
    for fmt in known:
        if ext in fmt.extensions:
            return fmt
    for fmt in known:
        if fmt.probe is not None and fmt.probe(path, head):
            return fmt
    return None


def by_content(path: Path) -> FileFormat | None:
    """The format a file's first bytes claim, also through gzip (a NIfTI volume renamed .dcm), or None."""
    import zlib

    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES * 4)
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, HEAD_BYTES)
        except zlib.error:
            return None
    return next((fmt for fmt in formats() if fmt.magic(head[:HEAD_BYTES])), None)


def for_folder(folder: Path) -> FileFormat:
    for fmt in formats():
        if fmt.reads_folder is not None and fmt.reads_folder(folder):
            return fmt
    raise UnsupportedFormatError(f"{folder.name}: no format reads this folder")


def unsupported_message(path: Path) -> str:
    titles = "; ".join(fmt.title for fmt in formats())
    return f"{path.name}: not a file Lacuna reads ({titles})"


def writer_for(kind: str, target: Path) -> FileFormat:
    """The format that writes a document of `kind` to `target` (chosen by its extension)."""
    ext = full_suffix(target).lower()
    if target.is_dir():
        ext = ""
    candidates = [fmt for fmt in formats() if fmt.write is not None and kind in fmt.writes]
    for fmt in candidates:
        if ext in fmt.writes[kind]:
            return fmt
    allowed = sorted({e for fmt in candidates for e in fmt.writes[kind] if e})
    what = {"volume": "a scan", "audio": "audio", "image": "an image"}.get(kind, f"a {kind} document")
    if not allowed:
        raise WriteError(f"{target.name}: cannot write {what}")
    folder = kind == "video" and "" in {e for fmt in candidates for e in fmt.writes[kind]}
    also = ", or a folder name for one picture per frame" if folder else ""
    raise WriteError(
        f"{target.name}: cannot save {what} {as_extension(ext)} (use {', '.join(allowed)}{also})"
    )


def as_extension(ext: str) -> str:
    """'as .xyz', or 'without an extension': how a refused target name is described."""
    return f"as {ext}" if ext else "without an extension"


def default_extension(doc: Document) -> str:
    """The extension a document is saved with when its source name has none; "" for a folder (a
    DICOM series, a film scan's numbered frames) when its format writes folders: a film scan in, a
    film scan out (walk-through 45: a PNG master sequence was offered as an .mkv)."""
    fmt = owner(doc) or next((f for f in formats() if doc.kind in f.writes), None)
    if fmt is None:
        return ""
    extensions = fmt.writes[doc.kind]
    if "" in extensions and doc.path is not None and Path(doc.path).is_dir():
        return ""
    return fmt.saved_as.get(doc.format) or next((e for e in extensions if e), "")


def owner(doc: Document) -> FileFormat | None:
    """The family a document's `format` belongs to (the one that reads and writes it back)."""
    for fmt in formats():
        if doc.format in fmt.saved_as and doc.kind in fmt.writes:
            return fmt
    return None


def header_for(doc: Document, frame: int) -> Any:
    """The file header behind `frame` of `doc` where its format has one (a DICOM dataset), else None."""
    fmt = owner(doc)
    return fmt.header(doc, frame) if fmt is not None and fmt.header is not None else None
