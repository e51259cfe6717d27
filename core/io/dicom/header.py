"""DICOM headers through pydicom: opening a file, reading values safely, frame geometry.

Shared by reading, series scanning and derivation; nothing here decodes pixel data.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import NothingToRepairError, ReadError

DEFER_SIZE = "1 MB"  # large values (pixel data) are read only when needed
PRIVATE_CREATOR = "Lacuna"
PRIVATE_GROUP = 0x0071
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass
class DicomHeaders:
    """A DICOM document's write-back data: the source headers (no pixel data), one per file read,
    and each file's slice position along the normal (for placing written slices)."""

    datasets: list[Any]
    positions: list[float] = field(default_factory=list)

    def for_frame(self, frame: int, frames: int) -> Any:
        """The header describing `frame` of a document of `frames` frames."""
        return self.datasets[frame] if len(self.datasets) == frames else self.datasets[0]


class NotAnImageError(NothingToRepairError):
    """A valid DICOM object without pixel data (a structured report, an RT plan, ...)."""


# ------------------------------------------------------------------------------------------- header
@contextlib.contextmanager
def quiet():
    """pydicom warns (and logs) about every odd value; people get our one-line errors instead."""
    logger = logging.getLogger("pydicom")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _pydicom():
    import pydicom

    from core.io.dicom_jpeg12 import register

    register()
    return pydicom


def open_dataset(path: Path, stop_before_pixels: bool = False):
    pydicom = _pydicom()
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, force=True, defer_size=DEFER_SIZE, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise ReadError(f"{path.name}: not a DICOM file ({first_line(exc)})") from exc
    except (EOFError, OSError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ReadError(f"{path.name}: the DICOM file is damaged or truncated ({first_line(exc)})") from exc
    has_meta = len(getattr(ds, "file_meta", None) or ()) > 0
    if not has_meta and not any(tag.group in (0x0008, 0x0010, 0x0020, 0x0028) for tag in ds.keys()):
        raise ReadError(f"{path.name}: not a DICOM file")
    return ds


def is_dicom(path: Path) -> bool:
    """Whether a file without a known extension or preamble is a DICOM object."""
    try:
        with quiet():
            ds = open_dataset(path, stop_before_pixels=True)
    except ReadError:
        return False
    return "SOPClassUID" in ds or "Rows" in ds or "Modality" in ds


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def value_of(ds, keyword: str, path: Path, default: Any = None) -> Any:
    """An element's value, or a ReadError naming the element when the file holds nonsense there."""
    if keyword not in ds:
        return default
    try:
        value = ds[keyword].value
        if value is None or value == "":
            return default
        return value
    except (ValueError, TypeError, OverflowError) as exc:
        raw = ds.get_item(keyword)
        shown = raw.value if raw is not None else "?"
        if isinstance(shown, bytes):
            shown = shown.decode("latin-1", "replace").strip()
        raise ReadError(f"{path.name}: invalid {keyword} value {shown!r} ({first_line(exc)})") from exc


def int_value(ds, keyword: str, path: Path, default: int | None = None) -> int | None:
    value = value_of(ds, keyword, path, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ReadError(f"{path.name}: invalid {keyword} value {value!r}") from exc


def float_list(value: Any) -> list[float]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return [float(v) for v in value]
    return [float(value)]


def _group_item(ds, frame: int, sequence: str):
    """The item of a functional-group macro for one frame: per-frame first, then shared."""
    for groups_kw, index in (
        ("PerFrameFunctionalGroupsSequence", frame),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        groups = ds.get(groups_kw)
        if groups and len(groups) > index:
            seq = groups[index].get(sequence)
            if seq:
                return seq[0]
    return None


def frame_attr(ds, frame: int, sequence: str, keyword: str):
    item = _group_item(ds, frame, sequence)
    if item is not None and keyword in item:
        return item[keyword].value
    return ds.get(keyword)


def geometry(ds, path: Path, require_pixels: bool = True) -> dict[str, Any]:
    rows = int_value(ds, "Rows", path)
    cols = int_value(ds, "Columns", path)
    frames = int_value(ds, "NumberOfFrames", path, 1) or 1
    spp = int_value(ds, "SamplesPerPixel", path, 1) or 1
    bits = int_value(ds, "BitsAllocated", path, 16) or 16
    stored = int_value(ds, "BitsStored", path, bits) or bits
    signed = (int_value(ds, "PixelRepresentation", path, 0) or 0) == 1
    if require_pixels and not any(kw in ds for kw in PIXEL_KEYWORDS):
        sop = ds.get("SOPClassUID")
        what = getattr(sop, "name", None) or str(sop or "unknown SOP class")
        raise NotAnImageError(f"{path.name}: this DICOM object holds no image ({what})")
    if not rows or not cols:
        raise ReadError(f"{path.name}: the image has no size (Rows/Columns missing or zero)")
    return {
        "rows": rows,
        "cols": cols,
        "frames": frames,
        "spp": spp,
        "bits": bits,
        "stored": stored,
        "signed": signed,
    }


def stored_limits(bits_stored: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    return 0, 2**bits_stored - 1


def transfer_syntax(ds):
    meta = getattr(ds, "file_meta", None)
    return meta.get("TransferSyntaxUID") if meta is not None else None


def rescale_pairs(ds, frames: int) -> list[tuple[float, float]]:
    """(slope, intercept) per frame; enhanced objects keep them in functional groups."""
    out = []
    for i in range(frames):
        slope = frame_attr(ds, i, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = frame_attr(ds, i, "PixelValueTransformationSequence", "RescaleIntercept")
        out.append(
            (
                float(slope) if slope not in (None, "") else 1.0,
                float(intercept) if intercept not in (None, "") else 0.0,
            )
        )
    return out


def plane_orientation(ds, frame: int = 0) -> np.ndarray | None:
    iop = float_list(frame_attr(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient"))
    return np.array(iop) if len(iop) == 6 else None


def plane_position(ds, frame: int = 0) -> np.ndarray | None:
    ipp = float_list(frame_attr(ds, frame, "PlanePositionSequence", "ImagePositionPatient"))
    return np.array(ipp) if len(ipp) == 3 else None


def plane_normal(iop: np.ndarray) -> np.ndarray:
    return np.cross(iop[:3], iop[3:])


def find_gaps(positions: list[float]) -> tuple[list[int], float | None]:
    """Indices after which a slice is missing, and the regular slice step (median difference)."""
    if len(positions) < 3:
        step = abs(positions[1] - positions[0]) if len(positions) == 2 else None
        return [], step or None
    d = np.abs(np.diff(positions))
    moving = d[d > 1e-4]
    if not len(moving):
        return [], None
    step = float(np.median(moving))
    return [int(i) for i in np.nonzero(d > 1.5 * step)[0]], step


def private_record(ds) -> str | None:
    """The text of the Lacuna record in a derived file's private block, if it has one."""
    try:
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        value = block[0x01].value
    except (KeyError, ValueError):
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
