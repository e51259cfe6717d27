"""What `lacuna info` shows of a DICOM volume, and of a DICOM object that holds no image."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import VolumeDoc
from core.io import describe as describing
from core.io.dicom.header import open_dataset, quiet, text_value


def describe(doc: VolumeDoc, scan: bool = True) -> dict[str, Any]:
    meta = doc.metadata
    info = describing.volume(doc)
    info["dtype"] = _stored_dtype(meta)
    stored = _stored_values(doc)
    if stored is not None:
        info["stored_values"] = stored
    scalings = {tuple(pair) for pair in meta.get("rescale") or []}
    scaling = describing.rescale(*map(float, scalings.pop())) if len(scalings) == 1 else None
    if scaling and doc.photometric != "RGB":
        info["rescale"] = scaling
    for key in ("transfer_syntax", "sop_class", "series_description"):
        if meta.get(key):
            info[key] = meta[key]
    files = meta.get("source_files") or []
    if len(files) > 1:
        info["files"] = len(files)
    if meta.get("series"):
        info["series"] = meta["series"]
    if meta.get("padding_value") is not None:  # outside the scanned area: kept by every filter
        info["padding_value"] = describing.num(meta["padding_value"])
    if meta.get("gantry_tilt_degrees"):
        info["gantry_tilt"] = (
            f"{meta['gantry_tilt_degrees']:g}° (slices sheared along their columns; filling aligns them)"
        )
    if meta.get("source_photometric") and meta["source_photometric"] != doc.photometric:
        info["source_photometric"] = meta["source_photometric"]
    return info


def _stored_values(doc: VolumeDoc) -> list[float] | None:
    """The smallest and largest value the file stores, before the modality LUT (rescale) is applied."""
    rescale = doc.metadata.get("rescale") or []
    if doc.photometric == "RGB" or len(rescale) != doc.frames:
        return None
    ends = []
    for frame, (slope, intercept) in zip(doc.pixels, rescale):
        ends += [(float(np.nanmin(frame)) - intercept) / slope, (float(np.nanmax(frame)) - intercept) / slope]
    if not all(math.isfinite(end) for end in ends):  # a slope so small the values overflowed float32
        return None
    return [describing.num(round(min(ends))), describing.num(round(max(ends)))]


def _stored_dtype(meta: dict[str, Any]) -> str:
    bits = int(meta.get("bits_allocated", 16))
    if bits == 1:
        return "bit"
    kind = "int" if meta.get("pixel_representation") else "uint"
    return f"{kind}{bits} ({meta.get('bits_stored', bits)} bits stored)"


def describe_object(path: Path) -> dict[str, Any]:
    """A valid DICOM object that holds no image (structured report, RT plan, ...)."""
    with quiet():
        ds = open_dataset(path, stop_before_pixels=True)
        sop = text_value(ds, "SOPClassUID", "(unreadable)")
        modality = text_value(ds, "Modality", "(unreadable)")
    return {
        "kind": "dicom-object",
        "format": "DICOM",
        "modality": modality,
        "sop_class": sop,
        "image": False,
        "note": "this DICOM object holds no image, so there is nothing to repair",
    }
