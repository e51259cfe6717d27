"""What was done to a document, as a JSON-able record, in files and in `<output>.lacuna.json`; and
reading it back, so a reopened Lacuna output knows its history.

Formats with room keep the record in the file (PNG text, TIFF description, JPEG comment, WebP XMP,
DICOM private block, NIfTI comment extension): their readers put its text in
`metadata["lacuna_provenance"]`. The record names its source by path and by SHA-256.
Every output also has the sidecar; `recorded_steps` reads whichever is there.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.documents import Document, Provenance
from core.io.atomic import atomic_write
from core.io.digest import file_sha256
from core.version import __version__

SIDECAR_SUFFIX = ".lacuna.json"


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + SIDECAR_SUFFIX)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def source_of(doc: Any) -> str:
    """The document's file as an absolute path ("" if none): a record read from its own folder, or
    from another working directory, must still name the right file. "a/../b" is written "b" when that
    is the same file (it is not when "a" is a symbolic link); links are kept as the person named them."""
    path = getattr(doc, "path", None)
    if not path:
        return ""
    named = Path(path).absolute()
    tidy = os.path.normpath(named)
    try:
        return tidy if os.path.samefile(tidy, named) else str(named)
    except OSError:  # gone since it was read: as named
        return str(named)


def record(doc: Document, output: Path | None = None, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The provenance of `doc` as a plain dict (every step, newest last); `notes`: what the writer
    chose or converted (a codec, a bit depth), kept under "conversion"."""
    steps = [_jsonable(p.as_dict()) for p in doc.provenance]
    source = source_of(doc)
    data = {
        "software": f"Lacuna {__version__}",
        "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
    }
    digest = file_sha256(source) if source else None
    if digest:  # by content too: the path says nothing once either file is renamed or moved
        data["source_sha256"] = digest
    data |= {
        "output": output.name if output else "",
        "steps": steps,
        "note": "repaired content is a reconstruction, not original data" if steps else "",
    }
    if notes:
        data["conversion"] = list(notes)
    if output is not None:
        from core.io.uncertainty_map import has_map, map_path

        if has_map(doc):
            data["uncertainty_map"] = map_path(output).name
    warnings = (doc.metadata or {}).get("read_warnings")
    if warnings:  # what was wrong with the source (truncated, an unusable attribute) stays with the result
        data["source_warnings"] = [str(w) for w in warnings]
    return data


def summary(doc: Document) -> str:
    """One short line naming what was done, for header fields with little room."""
    if not doc.provenance:
        return f"Saved by Lacuna {__version__}"
    parts = [f"{p.task} by {p.method}{_inserted(p.params)}" for p in doc.provenance]
    return f"Lacuna {__version__}: " + "; ".join(parts)


def _inserted(params: dict[str, Any]) -> str:
    """What a thinning did, in a few words (core.repair.thinning records it)."""
    if not params.get("inserted_slices"):
        return ""
    before, after = params.get("slices_before"), params.get("slices_after")
    return f" ({params['inserted_slices']} slices inserted: {before} -> {after})"


def as_json(doc: Document, output: Path | None = None, notes: Sequence[str] = ()) -> str:
    return json.dumps(record(doc, output, notes), separators=(",", ":"))


def write_sidecar(doc: Document, output: Path, notes: list[str] | None = None) -> Path:
    """Write `<output>.lacuna.json` next to the result (atomically); `notes`: conversions made."""
    text = json.dumps(record(doc, output, notes or ()), indent=2)
    target = sidecar_path(output)
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def parse_record(text: str | bytes | None) -> dict[str, Any] | None:
    """A provenance record from its JSON text, or None when the text is not one of ours."""
    if not text:
        return None
    try:
        record = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not str(record.get("software", "")).startswith("Lacuna"):
        return None
    return record if isinstance(record.get("steps"), list) else None


def _step(item: dict[str, Any]) -> Provenance:
    return Provenance(
        method=str(item.get("method", "")),
        task=str(item.get("task", "")),
        params=dict(item.get("params") or {}),
        source=str(item.get("source", "")),
        version=str(item.get("software", "")).removeprefix("Lacuna").strip(),
        date=str(item.get("date", "")),
        warnings=[str(w) for w in item.get("warnings") or []],
        uncertainty=dict(item.get("uncertainty") or {}),
        engine=str(item.get("engine", "")),
        changed_seconds=_spans(item.get("changed_seconds")),
        selection=str(item.get("selection", "")),
        changed_frames=str(item.get("changed_frames", "")),
    )


def _spans(value: Any) -> list[list[float]]:
    """[[start, end], ...] from a record; anything else (a hand-edited sidecar) reads as none."""
    try:
        return [[float(a), float(b)] for a, b in value or []]
    except (TypeError, ValueError):
        return []


def recorded_steps(doc: Document, path: Path) -> list[Provenance]:
    """The repairs a file records (in itself, else in its sidecar), oldest first; [] for an original."""
    record = parse_record(doc.metadata.get("lacuna_provenance"))
    sidecar = sidecar_path(path)
    if record is None and sidecar.is_file():
        try:
            record = parse_record(sidecar.read_text(encoding="utf-8"))
        except OSError:
            record = None
    if record is None:
        return []
    return [_step(item) for item in record["steps"] if isinstance(item, dict)]


def conversions(written: Path) -> list[str]:
    """What the writer could not keep as it was (alpha dropped, a type widened, a lossy codec), as
    the sidecar of `written` lists them: said on the console and in the app, not only in the record."""
    try:
        record = parse_record(sidecar_path(Path(written)).read_text(encoding="utf-8"))
    except OSError:
        return []
    return [str(note) for note in (record or {}).get("conversion", [])]
