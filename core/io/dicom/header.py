"""DICOM headers through pydicom: opening a file, reading values safely, frame geometry.

Shared by reading, series scanning and derivation; nothing here decodes pixel data.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import NothingToRepairError, ReadError
from core.io.quiet import quiet_libraries

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
# pydicom warns (and logs) about every odd value; people get our one-line errors instead
quiet = quiet_libraries


def _pydicom():
    import pydicom

    from core.io.dicom.decoders import register

    register()
    return pydicom


class ClampedFile(io.FileIO):
    """A file whose read(n) never asks for more than is left in it. Python allocates n bytes before
    reading, so a corrupt element length (4 GB in a 600-byte file) would otherwise cost 4 GB.
    pydicom reopens it by name for deferred values, so it takes (name, mode) like open()."""

    def __init__(self, name, mode: str = "rb"):
        super().__init__(name, mode)
        self.size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(0, self.size - self.tell()))
        return super().read(size)


def open_dataset(path: Path, stop_before_pixels: bool = False):
    pydicom = _pydicom()
    from pydicom.errors import InvalidDicomError

    try:
        with ClampedFile(str(path)) as fh:  # a str name: pydicom reopens it for deferred values
            ds = pydicom.dcmread(fh, force=True, defer_size=DEFER_SIZE, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise ReadError(f"{path.name}: not a DICOM file ({first_line(exc)})") from exc
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - on damaged files pydicom raises many kinds (struct.error,
        raise ReadError(  # NotImplementedError, OSError...): all mean the same to a person
            f"{path.name}: the DICOM file is damaged or truncated ({first_line(exc)})"
        ) from exc
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
        with quiet():  # pydicom warns on a bad value; the ReadError below says it once
            value = ds[keyword].value
        if value is None or value == "":
            return default
        return value
    except Exception as exc:  # noqa: BLE001 - an undecodable value raises many kinds in pydicom
        raw = raw_text(ds, keyword)
        shown = f" {raw!r}" if raw else ""
        raise ReadError(f"{path.name}: invalid {keyword} value{shown} ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    from pydicom.errors import BytesLengthException

    if isinstance(exc, BytesLengthException):  # pydicom's text for it runs to 300 characters
        return "its length does not fit its value representation"
    return first_line(exc)


def raw_text(ds, keyword: str) -> str:
    """The stored bytes of an element as text, for messages ("" when even those are unreadable)."""
    try:
        raw = ds.get_item(keyword) if keyword in ds else None
        value = raw.value if raw is not None else None
        if isinstance(value, bytes):
            value = value.decode("latin-1", "replace").strip(" \x00")
        return str(value)[:40] if value not in (None, "") else ""
    except Exception:  # noqa: BLE001 - showing the raw value is a courtesy
        return ""


def text_value(ds, keyword: str, unreadable: str = "") -> str:
    """A descriptive element (Modality, SeriesDescription, a UID) as text; one the file holds nonsense
    in (an unknown VR, a wrong length) reads as `unreadable`, noted with the file's name."""
    try:
        with quiet():
            value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - pydicom raises many kinds for undecodable values
        note(keyword, ds, "unreadable")
        return unreadable
    return str(getattr(value, "name", None) or value or "") if value is not None else ""


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
    photometric = str(value_of(ds, "PhotometricInterpretation", path, "")).strip()
    if require_pixels and not any(kw in ds for kw in PIXEL_KEYWORDS):
        what = text_value(ds, "SOPClassUID") or "unknown SOP class"
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
        "photometric": photometric,
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
    iop = optional_floats(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient")
    return np.array(iop) if len(iop) == 6 and np.any(np.cross(iop[:3], iop[3:])) else None


def plane_position(ds, frame: int = 0) -> np.ndarray | None:
    ipp = optional_floats(ds, frame, "PlanePositionSequence", "ImagePositionPatient")
    return np.array(ipp) if len(ipp) == 3 else None


# --------------------------------------------------------------------- optional attributes, noted
# The file being read and the notes of the whole read (a series gathers its slices' notes).
_NOTES: ContextVar[tuple[Path, list[str]] | None] = ContextVar("dicom_notes", default=None)


@contextlib.contextmanager
def noting(path: Path) -> Iterator[list[str]]:
    """While `path` is read, optional attributes it holds nonsense in are skipped and noted here."""
    outer = _NOTES.get()
    notes = outer[1] if outer else []
    token = _NOTES.set((path, notes))
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def note(keyword: str, ds=None, what: str = "not a number") -> None:
    """Record that the file being read holds an unusable `keyword` (read without it)."""
    current = _NOTES.get()
    if current is None:
        return
    path, notes = current
    raw = raw_text(ds, keyword) if ds is not None else ""
    shown = f" {raw!r}" if raw else ""
    line = f"{path.name}: its {keyword}{shown} is {what}; it was read without it"
    if line not in notes:
        notes.append(line)


def optional_floats(ds, frame: int, sequence: str, keyword: str) -> list[float]:
    """An optional numeric attribute (spacing, position, orientation, window) as finite floats; one
    holding nonsense ('abc', NaN) reads as absent, with a note naming it and the file."""
    try:
        values = float_list(frame_attr(ds, frame, sequence, keyword))
        if all(math.isfinite(v) for v in values):
            return values
    except Exception:  # noqa: BLE001 - pydicom and float() raise many kinds for nonsense
        pass
    note(keyword, ds)
    return []


def instance_number(ds) -> int:
    """InstanceNumber for sorting, 0 when absent or unusable (noted)."""
    try:
        return int(ds.get("InstanceNumber", 0) or 0)
    except Exception:  # noqa: BLE001
        note("InstanceNumber", ds)
        return 0


def is_compressed(ts) -> bool:
    """Whether a transfer syntax is compressed; False for a UID that is not a transfer syntax."""
    try:
        return bool(getattr(ts, "is_compressed", False))
    except ValueError:
        return False


def plane_normal(iop: np.ndarray) -> np.ndarray:
    return np.cross(iop[:3], iop[3:])


def find_gaps(
    positions: list[float], thicknesses: list[float | None] | None = None
) -> tuple[list[int], float | None]:
    """Indices after which a slice is missing, and the regular slice step (median difference).

    A step is a gap when it is over 1.5 times the usual step between slices of the same thickness as
    the two it joins (`thicknesses`, one per slice, where the files give them): a series of 4 mm
    slices that goes on with 7 mm ones 7 mm apart has no gap, and an overlapping series (5 mm slices
    every 2.5 mm) still shows a missing one."""
    if len(positions) < 3:
        step = abs(positions[1] - positions[0]) if len(positions) == 2 else None
        return [], step or None
    d = np.abs(np.diff(positions))
    moving = d > 1e-4
    if not moving.any():
        return [], None
    step = float(np.median(d[moving]))
    known = thicknesses is not None and len(thicknesses) == len(positions) and None not in thicknesses
    if not known:
        return [int(i) for i in np.nonzero(d > 1.5 * step)[0]], step
    t = [round(float(v), 2) for v in thicknesses]  # scanners write 2.4999 for 2.5
    same: dict[float, list[float]] = {}
    for x, a, b, m in zip(d, t[:-1], t[1:], moving):
        if a == b and m:
            same.setdefault(a, []).append(float(x))
    # The usual step between slices of one thickness: the median of many, the least of a few (of
    # two steps one may be the gap); where the thickness changes, the larger of the two sides'.
    usual = {k: float(np.median(v)) if len(v) >= 3 else min(v) for k, v in same.items()}
    gaps = [
        i
        for i, (x, a, b) in enumerate(zip(d, t[:-1], t[1:]))
        if x > 1.5 * max(usual.get(a, step), usual.get(b, step))
    ]
    return gaps, step


def private_record(ds) -> str | None:
    """The text of the Lacuna record in a derived file's private block, if it has one."""
    try:
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        value = block[0x01].value
    except (KeyError, ValueError):
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
