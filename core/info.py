"""`lacuna info`: what a file or folder holds, as the document read from it holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.documents import AudioDoc, ImageDoc, VolumeDoc
from core.errors import LacunaError, ReadError, reason


def _num(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _minmax(array: np.ndarray) -> list[float | int] | None:
    if array.size == 0 or not np.isfinite(array).any():
        return None
    return [_num(np.nanmin(array)), _num(np.nanmax(array))]


def describe(path: str | Path, scan: bool = True) -> dict[str, Any]:
    """A JSON-able description of the file or folder at `path` (raises a LacunaError if unreadable)."""
    from core.io.dicom import NotAnImageError
    from core.io.dispatch import read_any

    path = Path(path)
    try:
        doc = read_any(path)
    except NotAnImageError:
        return _describe_dicom_object(path)
    except LacunaError:
        raise
    except Exception as exc:  # noqa: BLE001 - `lacuna info` never shows a traceback
        raise ReadError(f"{path.name}: cannot read it ({type(exc).__name__}: {reason(exc)})") from exc
    info: dict[str, Any] = {"path": str(path), "kind": doc.kind, "format": doc.format}
    warnings = (getattr(doc, "metadata", None) or {}).get("read_warnings")
    if warnings:
        info["warnings"] = list(warnings)
    if doc.kind == "video":
        from core.video.describe import describe_video

        info.update(describe_video(doc, scan))
    elif isinstance(doc, AudioDoc):
        info.update(_audio(doc))
    elif isinstance(doc, VolumeDoc):
        info.update(_volume(doc))
    elif isinstance(doc, ImageDoc):
        info.update(_image(doc))
    from core.io.provenance import _jsonable

    return _jsonable(info)


def _image(doc: ImageDoc) -> dict[str, Any]:
    frames, height, width, channels = doc.pixels.shape
    info: dict[str, Any] = {
        "shape": [frames, height, width, channels],
        "frames": frames,
        "width": width,
        "height": height,
        "channels": channels,
        "mode": doc.mode,
        "dtype": doc.dtype,
        "value_range": _minmax(doc.pixels),
        "nominal_range": [_num(v) for v in doc.value_range],
    }
    if doc.metadata.get("dpi"):
        info["dpi"] = [_num(v) for v in doc.metadata["dpi"]]
    if doc.metadata.get("lacuna_provenance"):
        info["lacuna_provenance"] = True
    return info


def _volume(doc: VolumeDoc) -> dict[str, Any]:
    frames, height, width, channels = doc.pixels.shape
    meta = doc.metadata
    info: dict[str, Any] = {
        "modality": doc.modality,
        "shape": [frames, height, width, channels],
        "slices": frames,
        "width": width,
        "height": height,
        "channels": channels,
        "dtype": _stored_dtype(doc),
        "value_range": _minmax(doc.pixels),
        "spacing": [_num(v) for v in doc.spacing],
        "window": [_num(v) for v in doc.window] if doc.window else None,
        "photometric": doc.photometric,
        "gaps": list(doc.gaps),
    }
    if doc.stored_range is not None:
        info["stored_range"] = [_num(v) for v in doc.stored_range]
    if doc.format == "DICOM":
        for key in ("transfer_syntax", "sop_class", "series_description"):
            if meta.get(key):
                info[key] = meta[key]
        files = meta.get("source_files") or []
        if len(files) > 1:
            info["files"] = len(files)
        if meta.get("series"):
            info["series"] = meta["series"]
        if meta.get("source_photometric") and meta["source_photometric"] != doc.photometric:
            info["source_photometric"] = meta["source_photometric"]
    else:
        info["volumes"] = int(meta.get("volumes", 1))
        info["orientation"] = meta.get("orientation", "")
        if meta.get("descrip"):
            info["description"] = meta["descrip"]
    if doc.affine is not None:
        info["affine"] = [[_num(v) for v in row] for row in np.asarray(doc.affine)]
    return info


def _stored_dtype(doc: VolumeDoc) -> str:
    meta = doc.metadata
    if doc.format == "DICOM" and "bits_allocated" in meta:
        bits = int(meta["bits_allocated"])
        if bits == 1:
            return "bit"
        kind = "int" if meta.get("pixel_representation") else "uint"
        return f"{kind}{bits} ({meta.get('bits_stored', bits)} bits stored)"
    return str(np.dtype(meta.get("data_dtype", "float32")).name)


def _audio(doc: AudioDoc) -> dict[str, Any]:
    frames, channels = doc.samples.shape
    return {
        "subtype": doc.subtype,
        "sample_rate": int(doc.sample_rate),
        "channels": int(channels),
        "frames": int(frames),
        "duration": round(doc.duration, 6),
        "shape": [int(frames), int(channels)],
        "dtype": "float32",
        "value_range": _minmax(doc.samples),
        "tags": {k: str(v) for k, v in doc.metadata.items()},
    }


def _describe_dicom_object(path: Path) -> dict[str, Any]:
    """A valid DICOM object that holds no image (structured report, RT plan, ...)."""
    from core.io.dicom import _open, _quiet

    with _quiet():
        ds = _open(path, stop_before_pixels=True)
        sop = _element_text(ds, "SOPClassUID")
        modality = _element_text(ds, "Modality")
    return {
        "path": str(path),
        "kind": "dicom-object",
        "format": "DICOM",
        "modality": modality,
        "sop_class": sop,
        "image": False,
        "note": "this DICOM object holds no image, so there is nothing to repair",
    }


def _element_text(ds, keyword: str) -> str:
    """An element as text; one the file holds nonsense in (a wrong length for its VR) is "unreadable"."""
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - pydicom raises many kinds for undecodable values
        return "(unreadable)"
    return str(getattr(value, "name", None) or value or "")


MAX_SERIES_LINES = 8
LABELS = [
    ("kind", "kind"),
    ("format", "format"),
    ("modality", "modality"),
    ("sop_class", "SOP class"),
    ("transfer_syntax", "transfer syntax"),
    ("shape", "shape"),
    ("slices", "slices"),
    ("frames", "frames"),
    ("mode", "mode"),
    ("dtype", "stored as"),
    ("value_range", "value range"),
    ("stored_range", "stored range"),
    ("spacing", "spacing (mm)"),
    ("window", "window (C/W)"),
    ("photometric", "photometric"),
    ("orientation", "orientation"),
    ("volumes", "volumes"),
    ("gaps", "gaps after"),
    ("files", "files"),
    ("subtype", "subtype"),
    ("sample_rate", "sample rate"),
    ("channels", "channels"),
    ("duration", "duration"),
    ("dpi", "dpi"),
    ("codec", "codec"),
    ("frame_rate", "frame rate"),
    ("variable_frame_rate", "variable rate"),
    ("rotation", "rotation"),
    ("audio", "audio"),
    ("damage_summary", "damage"),
    ("description", "description"),
    ("note", "note"),
]


def _show(key: str, value: Any) -> str:
    if key == "shape" and isinstance(value, list):
        return " × ".join(str(v) for v in value)
    if key == "duration":
        return f"{value:.3f} s"
    if key == "sample_rate":
        return f"{value} Hz"
    if key == "gaps":
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, list):
        return (
            " .. ".join(str(v) for v in value) if key.endswith("range") else ", ".join(str(v) for v in value)
        )
    return str(value)


def format_info(info: dict[str, Any]) -> str:
    """The description as aligned, human-readable lines."""
    lines = [info.get("path", "")]
    for key, label in LABELS:
        value = info.get(key)
        if value is None or value == "" or (key in ("channels",) and info.get("kind") != "audio"):
            continue
        if key in ("frames", "slices", "volumes") and value == 1:
            continue
        lines.append(f"  {label:<16}{_show(key, value)}")
    for warning in info.get("warnings") or []:
        lines.append(f"  {'warning':<16}{warning}")
    series = info.get("series") or []
    if len(series) > 1:  # the folder holds several: say which one was read (the first, marked *)
        for n, item in enumerate(series[:MAX_SERIES_LINES]):
            lines.append(
                f"  {'series' if n == 0 else '':<16}{'*' if n == 0 else ' '} {item['files']} file(s) "
                f"{item['rows']}×{item['columns']} {item['modality']} {item['description']}".rstrip()
            )
        if len(series) > MAX_SERIES_LINES:
            lines.append(f"  {'':<16}  ... and {len(series) - MAX_SERIES_LINES} more series")
    return "\n".join(lines)
