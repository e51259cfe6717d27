"""Walking an input tree into batch items: each image, NIfTI, audio and video file is one item, and
so is each DICOM series: a folder's own DICOM files (not its subfolders', which are items of their
own) are one item when they are one series; of a folder holding several (a study's series side by
side, loose files), each single-file series is an item by its file name, and each other by
`series-N` in that folder (N counting from the largest).

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
    series: int | None = None  # a DICOM folder: which of its own series (core.io.read_series)


def file_kind(path: Path) -> str:
    """The kind of a file from its first bytes (then its name); "unreadable" if it cannot be opened."""
    from core.io.formats import sniff

    try:
        fmt = sniff(path)
    except OSError:
        return "unreadable"
    return fmt.name if fmt is not None else ""


SHOWN_KEYS = 3  # item keys a message lists before "and N more"


def listed_keys(keys: list[str]) -> str:
    """'a.txt, b.txt, c.txt and 2 more'."""
    more = len(keys) - SHOWN_KEYS
    return ", ".join(keys[:SHOWN_KEYS]) + (f" and {more} more" if more > 0 else "")


def selected(key: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """Globs match the relative path or the bare name: `*.png`, `scans/*`, `2019/**/*.tif`."""

    def matches(glob: str) -> bool:
        return fnmatch.fnmatch(key, glob) or fnmatch.fnmatch(PurePosixPath(key).name, glob)

    include, exclude = list(include), list(exclude)
    if include and not any(matches(g) for g in include):
        return False
    return not any(matches(g) for g in exclude)


def _batch_output(folder: Path) -> bool:
    """Whether a subfolder is an earlier batch's output (its manifest is there): its results are not
    originals to repair again (a walk-through's second batch planned `_denoise_denoise.png`)."""
    from core.batch.manifest import FILE_NAME

    return (folder / FILE_NAME).is_file()


def _lacunas_own(path: Path) -> bool:
    """A file Lacuna wrote or reads beside an item: a record, a batch's manifest or report, a loss
    trace beside its recording."""
    from core.audio.loss_trace import recording_of
    from core.batch.manifest import FILE_NAME
    from core.batch.report import REPORT_NAME
    from core.io.provenance import SIDECAR_SUFFIX

    name = path.name
    if name.endswith(SIDECAR_SUFFIX) or name.startswith(FILE_NAME) or name == REPORT_NAME:  # -wal, .lock
        return True
    return recording_of(path) is not None


def _source_named(path: Path, names: set[str], stems: set[str]) -> str | None:
    """The source a result Lacuna wrote beside its source was made from, or None for any other file:
    its record names a source among `names`, the folder's file names. The record is read from the
    sidecar beside it or, for a picture named as a result of another file of its folder
    (`a_inpaint.png`, `a_denoise_2.png` beside `a.png`: `stems` holds the folder's; moved without its
    sidecar, walk-through 46), from its header, so a batch does not open every file twice. A result
    moved away from its source is an item (walk-through 47: with its sidecar it was left out, and a
    folder of only such results said it held nothing)."""
    from core.io.images import embedded_record
    from core.io.naming import stem
    from core.io.provenance import parse_record, sidecar_path

    sidecar = sidecar_path(path)
    try:
        record = parse_record(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None
    except (OSError, UnicodeDecodeError):
        record = None
    parts = stem(path).split("_")
    result_like = any("_".join(parts[:k]) in stems for k in range(1, len(parts)))
    if record is None and result_like and file_kind(path) == "image":
        record = embedded_record(path)
    source = Path(str((record or {}).get("source") or "")).name
    return source if record and record.get("steps") and source in names and source != path.name else None


def _left_out_as_result(path: Path, key: str, names: set[str], stems: set[str], include: list[str]) -> bool:
    """Whether `path` is an earlier result of Lacuna beside its source that this batch leaves out: yes,
    unless an --include pattern names it and not its source (`*_inpaint.png` brings results back to be
    repaired again; `*.png`, which names the sources too, does not: walk-through 47)."""
    source = _source_named(path, names, stems)
    if source is None:
        return False
    source_key = PurePosixPath(key).with_name(source).as_posix()
    named = selected(key, include, ()) and not selected(source_key, include, ())
    return not named


def find_items(
    root: Path,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    skip: Iterable[Path] = (),
    films: bool = False,
    left_out: list[str] | None = None,
    results: list[str] | None = None,
) -> Iterator[Item]:
    """The items under `root` in a stable order. Hidden files and folders, files no reader knows,
    uncertainty maps beside the results Lacuna wrote (a walk-through's batch planned to inpaint one
    as a photo), the folders in `skip` (an output folder inside the input) and earlier batches'
    output folders inside the input are left out; the keys of the files no reader knows are added to
    `left_out` (an archive's inventory.txt, a scan's PDF report; not Lacuna's own files). With
    `films` (a task for films was asked for), a folder of numbered frames of one size is one video
    item, as `lacuna repair` and the app read it; otherwise its pictures are photos, each an item
    (a scanner's numbered photos of one size look the same). Lacuna's own results beside their
    sources (`_source_named`: their record beside them or in them) are left out too, unless `include`
    names them and not their sources, and their keys added to `results` (walk-through 45: a batch made
    `a_inpaint_inpaint.png`)."""
    from core.io.dicom.series import may_hold_a_slice
    from core.io.naming import stem
    from core.io.uncertainty_map import result_of_map
    from core.video.source import sequence_files

    root = Path(root)
    skipped = {Path(p).resolve() for p in skip}
    include, exclude = list(include), list(exclude)
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        rel_folder = here.relative_to(root).as_posix()
        names = set(filenames) | set(dirnames)  # a series or a film is a folder, and so is its result
        stems = {stem(Path(n)) for n in names}
        kept = []
        for d in sorted(dirnames):
            if d.startswith(".") or (here / d).resolve() in skipped or _batch_output(here / d):
                continue
            key = d if rel_folder == "." else f"{rel_folder}/{d}"
            if _left_out_as_result(here / d, key, names, stems, include):
                if results is not None:  # a series' or a film's result beside its source
                    results.append(key)
                continue
            kept.append(d)
        dirnames[:] = kept
        frames = set(sequence_files(here)) if films else set()
        if not any(selected(path.relative_to(root).as_posix(), include, exclude) for path in frames):
            frames = set()  # --include/--exclude, matched against its frames' paths, leave the film out
        if frames:
            yield Item(rel_folder, "video", here)
        dicom_files = []
        for name in sorted(filenames):
            result = result_of_map(name)
            if name.startswith(".") or (result is not None and (here / result).exists()):
                continue
            if here / name in frames:
                continue
            path = here / name
            key = name if rel_folder == "." else f"{rel_folder}/{name}"
            if not selected(key, include, exclude):
                continue
            if _left_out_as_result(path, key, names, stems, include):
                if results is not None:
                    results.append(key)
                continue
            kind = file_kind(path)
            if kind == "dicom":
                if may_hold_a_slice(path):  # a CD's DICOMDIR is an index, not an item
                    dicom_files.append(path)
            elif kind:
                yield Item(key, kind, path)
            elif left_out is not None and not _lacunas_own(path):
                left_out.append(key)
        if dicom_files:
            yield from _series_items(here, rel_folder, dicom_files)


def _series_items(folder: Path, rel_folder: str, files: list[Path]) -> Iterator[Item]:
    """The DICOM series among `folder`'s own `files`, as items (the module says how they are named);
    a file in no series (not readable as a DICOM image) is an item of its own, to fail with its reason."""
    from core.errors import LacunaError
    from core.io import list_series

    def key(name: str) -> str:
        return name if rel_folder == "." else f"{rel_folder}/{name}"

    try:
        series = list_series(folder, recursive=False)
    except LacunaError:  # too many files, say: the folder fails with the reader's reason when read
        yield Item(rel_folder, "dicom", folder, 0)
        return
    in_series = set()
    for index, one in enumerate(series):
        members = [Path(f) for f in one["files"]]
        in_series.update(members)
        if len(members) == 1:
            yield Item(key(members[0].name), "dicom", members[0])
        elif len(series) == 1:
            yield Item(rel_folder, "dicom", folder, index)
        else:
            yield Item(key(f"series-{index + 1}"), "dicom", folder, index)
    for path in files:
        if path not in in_series:
            yield Item(key(path.name), "dicom", path)
