"""The one rule for naming outputs, used by the CLI, the desktop and every workspace.

A result is saved beside its source as `<stem>_<task><ext>`: `photo.png` -> `photo_denoise.png`
(an enlargement names its scale: `photo_upscale_x4.png`),
`brain.nii.gz` -> `brain_upscale.nii.gz`, a series folder `CT` -> `CT_denoise`; a lossy source is
saved losslessly (`scan.jpg` -> `scan_dejpeg.png`, `call.mp3` -> `call_fill-gap.flac`). A source named
without extension gets its format's usual one (`IM0001` -> `IM0001_denoise.dcm`). When the name is
taken, "_2", "_3", ... is added before the extension, as `write(..., overwrite_policy="rename")`
does: `photo_denoise_2.png` (no spaces or brackets, which archive scripts must quote). Several repairs
name each task once, in order (`photo_denoise_inpaint.png`); a document with no repair yet is saved
as `<stem>_copy<ext>`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.documents import Document

UNREPAIRED = "copy"  # the "task" of a document saved without any repair
# A repair of a lossy file is saved losslessly by default: encoding it again the same way would add
# back artifacts of the kind a repair removes (JPEG artifact removal wrote JPEG at quality 95).
LOSSLESS_INSTEAD = {
    ".jpg": ".png",
    ".jpeg": ".png",
    ".jpe": ".png",
    ".mp3": ".flac",
    ".ogg": ".flac",
    ".oga": ".flac",
}


def full_suffix(path: Path) -> str:
    """'.nii.gz' for 'brain.nii.gz', '.png' for 'a.png'."""
    name = path.name.lower()
    for double in (".nii.gz", ".tar.gz"):
        if name.endswith(double):
            return path.name[-len(double) :]
    return path.suffix


def stem(path: Path) -> str:
    """'brain' for 'brain.nii.gz'."""
    suffix = full_suffix(path)
    return path.name[: len(path.name) - len(suffix)] if suffix else path.name


def numbered(path: Path, n: int) -> Path:
    """'scan_2.dcm' for n=2."""
    return path.with_name(f"{stem(path)}_{n}{full_suffix(path)}")


def first_free(path: Path, taken: Callable[[Path], bool] = Path.exists) -> Path:
    """`path`, or the first of 'name_2.ext', 'name_3.ext', ... that is not taken."""
    n = 2
    candidate = path
    while taken(candidate):
        candidate = numbered(path, n)
        n += 1
    return candidate


def task_label(task: str, params: dict | None = None) -> str:
    """The name part of a result: its task, and for upscale its scale ('upscale_x4'), which is what
    tells two enlargements of one picture apart (they were 'comic_upscale.png' and
    'comic_upscale_2.png')."""
    scale = (params or {}).get("scale")
    return f"{task}_x{scale}" if task == "upscale" and scale else task


def output_name(source: Path, task: str, extension: str | None = None) -> Path:
    """`<stem>_<task><ext>` beside `source` (taken or not); `extension` for a source without one (a
    folder: "" for a DICOM series written as a folder, ".mkv" for film frames written as a video)."""
    source = Path(source)
    if source.is_dir():
        return source.with_name(f"{source.name}_{task}{extension or ''}")
    suffix = full_suffix(source) or (extension or "")
    suffix = LOSSLESS_INSTEAD.get(suffix.lower(), suffix)
    return source.with_name(f"{stem(source)}_{task}{suffix}")


def repairs_label(doc: Document) -> str:
    """The tasks done to `doc` since it was read, in order, each once, joined by "_"
    ("denoise_inpaint"); "copy" when there are none. Steps recorded in the file it was read from
    (their source is another file) are its history, already in its name; detections change nothing."""
    from core.io.provenance import source_of

    own = source_of(doc)
    tasks: list[str] = []
    for step in doc.provenance:
        label = task_label(step.task, step.params)
        if step.task == "detect" or (step.source and step.source != own) or label in tasks:
            continue
        tasks.append(label)
    return "_".join(tasks) or UNREPAIRED


def suggest_output(doc: Document, task: str | None = None) -> Path | None:
    """A free output path for `doc` beside its source, named after `task` (default: every repair
    done to it, `repairs_label`); None for a document that was not read from a file."""
    if doc.path is None:
        return None
    from core.io.formats import default_extension

    return first_free(output_name(Path(doc.path), task or repairs_label(doc), default_extension(doc)))
