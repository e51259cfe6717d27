"""`lacuna info`: what a file or folder holds, as the document read from it holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import LacunaError, NothingToRepairError


def describe(path: str | Path, scan: bool = True) -> dict[str, Any]:
    """A JSON-able description of the file or folder at `path` (raises a LacunaError if unreadable).

    `scan`: formats that can look for damage by decoding everything (video) may do so."""
    from core.io.dispatch import read_with_format
    from core.io.provenance import _jsonable

    path = Path(path)
    if path.suffix.lower() == ".txt" and path.is_file():  # a call's loss trace (one 0/1 line a packet)
        from core.audio.loss_trace import describe_trace, looks_like_trace

        if looks_like_trace(path):
            return describe_trace(path)
    try:
        fmt, doc = read_with_format(path)
    except NothingToRepairError as exc:
        if not exc.details:
            raise
        return _jsonable({"path": str(path), **exc.details})
    except LacunaError:
        if not path.is_dir():
            raise
        return folder_summary(path)  # not one document: what batch repair would take from it
    info: dict[str, Any] = {"path": str(path), "kind": doc.kind, "format": doc.format}
    warnings = (getattr(doc, "metadata", None) or {}).get("read_warnings")
    if warnings:
        info["warnings"] = list(warnings)
    if fmt.describe is not None:
        info.update(fmt.describe(doc, scan))
    if any(step.task != "detect" for step in doc.provenance):  # a mask alone records a detection
        # a result of Lacuna's: said first, so it is not taken for an original
        info["repaired"] = repaired_line(doc.provenance)
    return _jsonable(info)


def repaired_line(steps) -> str:
    """'a reconstruction by Lacuna from ct: denoise with denoise-scan; inpaint with inpaint-learned
    on a mask proposed by detect-learned' from the steps a file records (in itself or its sidecar)."""
    done, detection = [], None
    for step in steps:
        if step.task == "detect":  # says where the next repair's mask came from, not a repair itself
            detection = step
            continue
        on = ""
        if detection is not None:
            edited = " and edited by hand" if detection.params.get("edited_by_hand") else ""
            on = f" on a mask proposed by {detection.method}{edited}"
        done.append(f"{step.task} with {step.method}{on}")
        detection = None
    source = next((step.source for step in steps if step.source), "")
    origin = f" from {Path(source).name}" if source else ""
    return f"a reconstruction by Lacuna{origin}: {'; '.join(done)}"


def folder_summary(folder: Path) -> dict[str, Any]:
    """A folder that is not one document (a series, film frames): its items by kind, as `lacuna batch`
    finds them; a LacunaError when it holds none."""
    from core.batch.items import find_items
    from core.errors import ReadError

    counts: dict[str, int] = {}
    for item in find_items(folder):
        counts[item.kind] = counts.get(item.kind, 0) + 1
    if not counts:
        raise ReadError(f"{folder.name}: no file in this folder is one Lacuna reads")
    return {"path": str(folder), "kind": "folder", "items": counts, "note": "lacuna batch repairs each item"}


MAX_SERIES_LINES = 8
ITEM_WORDS = {  # a folder's items by kind, one and several
    "audio": ("recording", "recordings"),
    "dicom": ("DICOM scan or series", "DICOM scans or series"),
    "image": ("picture", "pictures"),
    "nifti": ("NIfTI volume", "NIfTI volumes"),
    "video": ("clip or film", "clips or films"),
}
LABELS = [
    ("kind", "kind"),
    ("format", "format"),
    ("repaired", "repaired"),
    ("modality", "modality"),
    ("sop_class", "SOP class"),
    ("transfer_syntax", "transfer syntax"),
    ("shape", "shape"),
    ("frame_size", "frame size"),
    ("slices", "slices"),
    ("frames", "frames"),
    ("mode", "mode"),
    ("dtype", "stored as"),
    ("value_range", "value range"),
    ("not_a_number", "not numbers"),  # NaN or infinite values, left out of the range (a repair refuses them)
    ("stored_values", "stored values"),
    ("rescale", "rescale"),
    ("representable_range", "type holds"),
    ("padding_value", "padding value"),  # a DICOM's PixelPaddingValue: outside the scanned area
    ("spacing", "spacing (mm)"),
    ("slice_spacing", "slices apart"),
    ("gantry_tilt", "gantry tilt"),
    ("window", "window (C/W)"),
    ("photometric", "photometric"),
    ("source_photometric", "stored colour"),  # PALETTE COLOR, YBR_FULL_422: what the file holds
    ("orientation", "orientation"),
    ("oblique", "oblique"),
    ("transforms", "transforms"),  # a NIfTI's sform and qform
    ("time_points", "time points"),
    ("gaps", "gaps after"),  # slice numbers from 0, as --frames counts them
    ("files", "files"),
    ("subtype", "subtype"),
    ("sample_rate", "sample rate"),
    ("channels", "channels"),
    ("duration", "duration"),
    ("dpi", "dpi"),
    ("jpeg_quality", "JPEG quality"),  # read from its 8x8 blocks, on the IJG 1-100 scale
    ("codec", "codec"),
    ("frame_rate", "frame rate"),
    ("variable_frame_rate", "variable rate"),
    ("rotation", "rotation"),
    ("audio", "audio"),
    ("damage_summary", "damage"),
    ("missing_files", "missing files"),  # a numbered sequence's absent frames, by file name
    ("loss_trace", "loss trace"),
    ("packets", "packets"),
    ("bursts", "bursts"),
    ("recording", "recording"),
    ("items", "items"),
    ("description", "description"),
    ("note", "note"),
]


def _number(value: Any) -> str:
    """Six significant digits: '30.02', not a frame rate's '30.020013' or a range's float noise."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _show(key: str, value: Any) -> str:
    if key == "items" and isinstance(value, dict):  # the JSON keeps batch's kinds; the text says them
        return ", ".join(
            f"{n} {ITEM_WORDS.get(kind, (kind, kind))[n != 1]}" for kind, n in sorted(value.items())
        )
    if isinstance(value, str):  # said already (a volume's axes)
        return value
    if key == "shape" and isinstance(value, list):
        return " × ".join(str(v) for v in value)
    if key == "duration":
        return f"{value:.3f} s"
    if key == "sample_rate":
        return f"{value} Hz"
    if key == "gaps":  # said as the app says them too: after slice 15 of the app is after 14 from 0
        return (
            f"slice{'s' if len(value) > 1 else ''} {', '.join(map(str, value))} (from 0)" if value else "none"
        )
    if key == "slice_spacing":
        return f"{_number(value[0])} .. {_number(value[1])} mm (uneven)"
    if key == "spacing" and isinstance(value, list):
        return ", ".join("unknown" if v is None else _number(v) for v in value)
    if isinstance(value, list):
        ranged = key.endswith("range") or key == "stored_values"
        return (" .. " if ranged else ", ").join(_number(v) for v in value)
    return _number(value)


def _volume_axes(info: dict[str, Any]) -> dict[str, Any]:
    """A volume's size and spacing said in the order a NIfTI's i, j, k and a DICOM's columns and rows
    read (the JSON keeps Lacuna's own: slices first)."""
    frames, height, width, channels = (info["shape"] + [1])[:4]
    points = info.get("time_points") or 1
    over_time = f" × {points} time points" if points > 1 else ""
    colour = f", {channels} channels" if channels > 1 else ""
    third = "frames" if info.get("frames_over_time") else "slices"  # a cine loop's frames are times
    shown = {
        "shape": f"{width} × {height} × {frames // points} (columns × rows × {third}){over_time}{colour}"
    }
    if info.get("frames_over_time"):  # no slice spacing to have gaps in
        shown["frames"], shown["slices"], shown["gaps"] = info.get("slices"), None, None
    spacing = info.get("spacing")
    if isinstance(spacing, list) and len(spacing) == 3:
        values = ["unknown" if v is None else _number(v) for v in reversed(spacing)]
        shown["spacing"] = f"{' × '.join(values)} (columns × rows × slices)"
        if info.get("frames_over_time"):  # no distance between times
            shown["spacing"] = f"{' × '.join(values[:2])} (columns × rows)"
    return shown


def _image_size(info: dict[str, Any]) -> str:
    """A picture's size as people say it, width first ('298 × 450 pixels, 4 channels'); the JSON keeps
    Lacuna's own shape (pages, rows, columns, channels)."""
    pages, height, width, channels = (info["shape"] + [1])[:4]
    many = f", {pages} pages" if pages > 1 else ""
    plural = "s" if channels > 1 else ""
    return f"{width} × {height} pixels (width × height), {channels} channel{plural}{many}"


def format_info(info: dict[str, Any]) -> str:
    """The description as aligned, human-readable lines."""
    lines = [info.get("path", "")]
    if info.get("kind") == "volume" and info.get("shape"):
        info = {**info, **_volume_axes(info)}
    if info.get("kind") == "image" and info.get("shape"):
        info = {**info, "shape": _image_size(info)}
    if info.get("kind") == "video" and info.get("width"):
        depth = f", {info['bit_depth']}-bit" if info.get("bit_depth") else ""
        size = f"{info['width']} × {info['height']} ({info.get('pixel_format')}{depth})"
        info = {**info, "frame_size": size}
    for key, label in LABELS:
        value = info.get(key)
        if value is None or value == "" or (key in ("channels",) and info.get("kind") != "audio"):
            continue
        if key in ("frames", "slices", "volumes", "time_points") and value == 1:
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
