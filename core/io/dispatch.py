"""Read or write through the format registry, turning every failure into a `core.errors`
exception whose one-line message names the file and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.documents import Document
from core.errors import LacunaError, ReadError, UnsupportedFormatError, WriteError, reason
from core.io import formats, provenance, uncertainty_map
from core.io.atomic import allow_replace, check_folder, resolve_target


def read_any(path: Path) -> Document:
    return read_with_format(Path(path))[1]


def read_with_format(path: Path) -> tuple[formats.FileFormat, Document]:
    """The document at `path` and the format family that read it."""
    from core.io.quiet import quiet_libraries

    path = Path(path)
    fmt = None
    try:
        with quiet_libraries():  # sniffing reads headers too
            fmt = _format_of(path)
            doc = fmt.read(path)
    except ReadError as exc:
        told = _misnamed(exc, path, fmt)
        if told is exc:
            raise
        raise told from exc
    except LacunaError:
        raise
    except MemoryError as exc:
        raise ReadError(f"{path.name}: not enough memory to read it") from exc
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear line
        raise ReadError(f"{path.name}: cannot read it ({type(exc).__name__}: {reason(exc)})") from exc
    if not doc.provenance:  # a Lacuna output: its history comes back with it
        doc.provenance = provenance.recorded_steps(doc, path)
    uncertainty_map.attach(doc, path)  # and its fill's uncertainty map, if one lies beside it
    return fmt, doc


def _misnamed(exc: ReadError, path: Path, chosen: formats.FileFormat | None) -> ReadError:
    """A read that failed because the file's name says another format than its content: said, with
    the kind of name to give it (a NIfTI volume renamed .dcm was 'not a DICOM file')."""
    try:
        actual = formats.by_content(path) if chosen is not None and path.is_file() else None
    except OSError:
        actual = None
    if actual is None or actual is chosen:
        return exc
    names = " or ".join(e for e in actual.extensions[:2] if e)
    return ReadError(f"{exc} (its content is {actual.title}; name it {names})")


def _format_of(path: Path) -> formats.FileFormat:
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder")
    if path.is_dir():
        return formats.for_folder(path)
    if path.stat().st_size == 0:
        raise ReadError(f"{path.name}: the file is empty")
    try:
        fmt = formats.sniff(path)
    except OSError as exc:
        raise ReadError(f"{path.name}: cannot open it ({exc.strerror or exc})") from exc
    if fmt is None:
        raise UnsupportedFormatError(formats.unsupported_message(path))
    return fmt


def check_target(
    doc: Document,
    path: Path,
    overwrite: bool = False,
    overwrite_policy: str = "refuse",
    sidecar: bool = True,
) -> Path:
    """Where `doc` would be written, checked without writing anything: the format (one writes this
    kind of document under this name), the overwrite rules (never the source; an existing output or
    its sidecar only with `overwrite`) and the folder (it exists and can be written). `lacuna repair`
    calls it before computing; `write_any` again before writing."""
    target = resolve_target(Path(path), doc.path, overwrite, overwrite_policy, sidecar=sidecar)
    fmt = formats.writer_for(doc.kind, target)
    if fmt.fits is not None:
        fmt.fits(doc, target)
    check_folder(target)
    return target


def write_any(
    doc: Document,
    path: Path,
    overwrite: bool = False,
    overwrite_policy: str = "refuse",
    sidecar: bool = True,
    **options: Any,
) -> Path:
    """Write `doc` to `path` (format from the extension); returns the path actually written.

    Never writes over the document's source; refuses an existing file unless `overwrite=True`, or
    picks "name_2.ext" with `overwrite_policy="rename"`. Provenance goes into the file where the
    format has room and always into `<output>.lacuna.json`. The document is not modified.
    """
    target = check_target(doc, path, overwrite, overwrite_policy, sidecar)
    fmt = formats.writer_for(doc.kind, target)
    try:
        with allow_replace(overwrite):  # else the file is created exclusively: a racing writer fails
            written = fmt.write(doc, target, **options)
    except LacunaError:
        raise
    except MemoryError as exc:
        raise WriteError(f"{target.name}: not enough memory to write it") from exc
    except Exception as exc:  # noqa: BLE001
        raise WriteError(f"{target.name}: cannot write it ({type(exc).__name__}: {reason(exc)})") from exc
    if sidecar:
        with allow_replace(overwrite):
            if uncertainty_map.has_map(doc):
                uncertainty_map.write_map(doc, written.path)
            else:  # a map left from a fill saved here before would be taken for this result's
                uncertainty_map.map_path(written.path).unlink(missing_ok=True)
            provenance.write_sidecar(doc, written.path, list(written.notes))
    return written.path
