"""Small helpers the format families share to describe a document as JSON-able values."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.documents import VolumeDoc


def num(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def minmax(array: np.ndarray) -> list[float | int] | None:
    if array.size == 0 or not np.isfinite(array).any():
        return None
    return [num(np.nanmin(array)), num(np.nanmax(array))]


def volume(doc: VolumeDoc) -> dict[str, Any]:
    """What every volume format reports; the family adds its own fields."""
    frames, height, width, channels = doc.pixels.shape
    info: dict[str, Any] = {
        "modality": doc.modality,
        "shape": [frames, height, width, channels],
        "slices": doc.slices,
        "time_points": doc.time_points,
        "width": width,
        "height": height,
        "channels": channels,
        "value_range": minmax(doc.pixels),
        "spacing": [num(v) for v in doc.spacing],
        "window": [num(v) for v in doc.window] if doc.window else None,
        "photometric": doc.photometric,
        "gaps": list(doc.gaps),
    }
    if doc.stored_range is not None:
        info["stored_range"] = [num(v) for v in doc.stored_range]
    return info
