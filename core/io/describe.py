"""Small helpers the format families share to describe a document as JSON-able values."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.documents import VolumeDoc
from core.io.dicom.placement import even_step


def num(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def slice_position(mm: float) -> str:
    """Where a slice lies, as the app's slice bar and the engine's notes both say it: along the
    slices' normal, which is not a PACS "z" where the gantry or the head is tilted."""
    return f"{mm:.2f} mm along the normal"


def stack_size(frames: int, time_points: int = 1, noun: str = "slices") -> str:
    """'140 slices', or for a 4-D series '140 slices × 2 time points' (frames are time-major)."""
    if time_points > 1:
        return f"{frames // time_points} {noun} × {time_points} time points"
    return f"{frames} {noun}"


NUMBERS_AT_ONCE = 1 << 22  # values tested per step: every repair asks, and a 500 MP picture is 1.5 G values


def not_numbers(array: np.ndarray) -> int:
    """How many values are NaN or infinite (a float volume's masked-out voxels): the value range
    leaves them out, so they are said apart. Counted a block at a time, so the test's own mask stays
    small beside the picture."""
    array = np.asarray(array)
    if array.dtype.kind != "f":
        return 0
    flat = array.reshape(-1)
    return sum(
        int(len(block) - np.count_nonzero(np.isfinite(block)))
        for block in (flat[at : at + NUMBERS_AT_ONCE] for at in range(0, flat.size, NUMBERS_AT_ONCE))
    )


def minmax(array: np.ndarray) -> list[float | int] | None:
    if array.size == 0 or not np.isfinite(array).any():
        return None
    return [num(np.nanmin(array)), num(np.nanmax(array))]


def rescale(slope: float, intercept: float) -> str | None:
    """'× 7.1098 − 1024 (one stored step is 7.11)': how stored values become the values shown, for
    a scaling other than none; a coarse step (a uint8 CT) is a precision a reader must know."""
    if slope == 1 and intercept == 0:
        return None
    offset = "" if intercept == 0 else f" {'−' if intercept < 0 else '+'} {abs(intercept):.6g}"
    return f"× {slope:.6g}{offset} (one stored step is {abs(slope):.3g})"


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
        "not_a_number": not_numbers(doc.pixels) or None,
        "spacing": [num(v) if known else None for v, known in zip(doc.spacing, spacing_known(doc))],
        # shape and spacing above are slices first, as Lacuna holds them; these read as a NIfTI's
        # (i, j, k) and a DICOM's columns and rows do (the text output shows them)
        "voxels": [width, height, doc.slices] + ([doc.time_points] if doc.time_points > 1 else []),
        "voxel_size_mm": [num(v) if known else None for v, known in zip(doc.spacing, spacing_known(doc))][
            ::-1
        ],
        "window": [num(v) for v in doc.window] if doc.window else None,
        "photometric": doc.photometric,
        "gaps": list(doc.gaps),
    }
    from core.io.geometry import frames_over_time

    if frames_over_time(doc):  # a cine loop: said as frames, not slices (text output)
        info["frames_over_time"] = True
    uneven = slice_steps(doc)
    if uneven is not None:
        # the spacing above is the usual one; an uneven series says how far its slices really are apart
        info["slice_spacing"] = [num(v) for v in uneven]
    if doc.stored_range is not None:
        # What the stored type could hold once rescaled, not the values the file stores.
        info["representable_range"] = [num(v) for v in doc.stored_range]
    return info


def slice_steps(doc: VolumeDoc) -> tuple[float, float] | None:
    """(nearest, furthest) distance between neighbouring slices in mm, for an unevenly spaced
    series; None when the slices are evenly spaced (or their positions are not known)."""
    if len(doc.positions) != doc.frames:
        return None
    steps = np.abs(np.diff(doc.positions[: doc.slices]))
    if steps.size <= 1 or even_step(doc.positions[: doc.slices]) is not None:
        return None
    return float(steps.min()), float(steps.max())


def spacing_known(doc: VolumeDoc) -> tuple[bool, bool, bool]:
    """(slice, row, column): False where the file does not give the spacing (a default 1 stands in)."""
    pixel = bool(doc.metadata.get("pixel_spacing_known", True))
    return bool(doc.metadata.get("slice_spacing_known", True)), pixel, pixel
