"""DICOM through pydicom: single files, multi-frame objects and folders holding a series.

Reading
- Pixels become float32 (frames, H, W, C) in physical units: the modality LUT (rescale slope and
  intercept, per frame for enhanced multi-frame objects) is applied, so CT is in HU.
- MONOCHROME1 values are kept as stored; `VolumeDoc.photometric` says "MONOCHROME1" and the display
  inverts it. Palette colour is expanded to RGB; YBR is converted to RGB by pydicom.
- A folder is split into series by SeriesInstanceUID, orientation and matrix size; the largest one is
  read (all are listed in `metadata["series"]`), sorted by position along the slice normal (not by
  InstanceNumber). Missing slices show as `gaps` (indices after which a slice is missing).
- Header sizes are checked against the pixel limit before anything is decoded.

Writing (a new derived instance, never the original)
- New SOPInstanceUID and SeriesInstanceUID; ImageType DERIVED\\SECONDARY; DerivationDescription and
  ImageComments name the method; SourceImageSequence points at the original instance; a
  ContributingEquipmentSequence item names Lacuna; patient and study modules are kept as they were.
- Values go back through the inverse modality LUT, are rounded and clipped to what BitsStored and
  PixelRepresentation can hold, and are written uncompressed (Explicit VR Little Endian).
- The layout follows the source: a single (possibly multi-frame) file is written as one file; a
  series read from a folder is written as a folder with one file per slice (0001.dcm, 0002.dcm, ...).
- A different matrix size (upscaling) updates Rows/Columns and PixelSpacing from `VolumeDoc.spacing`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import VolumeDoc
from core.errors import ReadError, WriteError
from core.io import limits, provenance
from core.io.atomic import atomic_folder, atomic_write
from core.version import __version__

DEFER_SIZE = "1 MB"  # large values (pixel data) are read only when needed
MAX_FOLDER_FILES = 5000
PRIVATE_CREATOR = "Lacuna"
PRIVATE_GROUP = 0x0071
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


class NotAnImageError(ReadError):
    """A valid DICOM object without pixel data (a structured report, an RT plan, ...)."""


# ------------------------------------------------------------------------------------------- header
@contextlib.contextmanager
def _quiet():
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


def _open(path: Path, stop_before_pixels: bool = False):
    pydicom = _pydicom()
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, force=True, defer_size=DEFER_SIZE, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise ReadError(f"{path.name}: not a DICOM file ({_first_line(exc)})") from exc
    except (EOFError, OSError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ReadError(f"{path.name}: the DICOM file is damaged or truncated ({_first_line(exc)})") from exc
    has_meta = len(getattr(ds, "file_meta", None) or ()) > 0
    if not has_meta and not any(tag.group in (0x0008, 0x0010, 0x0020, 0x0028) for tag in ds.keys()):
        raise ReadError(f"{path.name}: not a DICOM file")
    return ds


def is_dicom(path: Path) -> bool:
    """Whether a file without a known extension or preamble is a DICOM object."""
    try:
        with _quiet():
            ds = _open(path, stop_before_pixels=True)
    except ReadError:
        return False
    return "SOPClassUID" in ds or "Rows" in ds or "Modality" in ds


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _value(ds, keyword: str, path: Path, default: Any = None) -> Any:
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
        raise ReadError(f"{path.name}: invalid {keyword} value {shown!r} ({_first_line(exc)})") from exc


def _int(ds, keyword: str, path: Path, default: int | None = None) -> int | None:
    value = _value(ds, keyword, path, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ReadError(f"{path.name}: invalid {keyword} value {value!r}") from exc


def _floats(value: Any) -> list[float]:
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


def _frame_attr(ds, frame: int, sequence: str, keyword: str):
    item = _group_item(ds, frame, sequence)
    if item is not None and keyword in item:
        return item[keyword].value
    return ds.get(keyword)


def _geometry(ds, path: Path, require_pixels: bool = True) -> dict[str, Any]:
    rows = _int(ds, "Rows", path)
    cols = _int(ds, "Columns", path)
    frames = _int(ds, "NumberOfFrames", path, 1) or 1
    spp = _int(ds, "SamplesPerPixel", path, 1) or 1
    bits = _int(ds, "BitsAllocated", path, 16) or 16
    stored = _int(ds, "BitsStored", path, bits) or bits
    signed = (_int(ds, "PixelRepresentation", path, 0) or 0) == 1
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


def _transfer_syntax(ds):
    meta = getattr(ds, "file_meta", None)
    return meta.get("TransferSyntaxUID") if meta is not None else None


def _check_native_length(ds, geo: dict[str, Any], path: Path) -> None:
    """Report truncated uncompressed pixel data before decoding, with both sizes."""
    ts = _transfer_syntax(ds)
    if ts is not None and getattr(ts, "is_compressed", False):
        return
    if "PixelData" not in ds:
        return
    n = geo["rows"] * geo["cols"] * geo["frames"]
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if geo["bits"] == 1:
        expected = (n * geo["spp"] + 7) // 8
    elif photometric.endswith("_422") and geo["spp"] == 3:
        expected = n * 2 * geo["bits"] // 8
    else:
        expected = n * geo["spp"] * geo["bits"] // 8
    found = len(ds.PixelData or b"")
    if found < expected:
        raise ReadError(f"{path.name}: pixel data is truncated (expected {expected} bytes, found {found})")


# ------------------------------------------------------------------------------------------ decoding
def _decode(ds, geo: dict[str, Any], path: Path) -> tuple[np.ndarray, str]:
    """Stored values as (frames, H, W, C) plus the photometric interpretation they are in now."""
    _check_native_length(ds, geo, path)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    try:
        arr = ds.pixel_array
    except NotImplementedError as exc:
        raise ReadError(f"{path.name}: {_first_line(exc)}") from exc
    except RuntimeError as exc:  # pydicom: no plugin for this transfer syntax, or every plugin failed
        ts = _transfer_syntax(ds)
        name = getattr(ts, "name", str(ts))
        reasons = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        if reasons:
            raise ReadError(
                f"{path.name}: cannot decode its {name} pixel data ({'; '.join(reasons)})"
            ) from exc
        raise ReadError(f"{path.name}: no decoder installed for {name} ({_first_line(exc)})") from exc
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OSError) as exc:
        raise ReadError(f"{path.name}: cannot decode the pixel data ({_first_line(exc)})") from exc
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            arr = apply_color_lut(arr, ds)
        except (ValueError, KeyError, AttributeError) as exc:
            raise ReadError(f"{path.name}: the palette colour lookup table is unusable ({exc})") from exc
        if arr.dtype == np.uint16 and not np.any(arr % 257):  # an 8-bit palette in 16-bit entries
            arr = (arr // 257).astype(np.uint8)
        photometric = "RGB"
    elif photometric.startswith("YBR") and geo["spp"] == 3:
        photometric = "RGB"  # pydicom returns RGB for YBR data
    color = arr.shape[-1] == 3 and (geo["spp"] == 3 or photometric == "RGB")
    if geo["frames"] == 1:
        arr = arr[None]
    if not color:
        arr = arr[..., None]
    if arr.shape[:3] != (geo["frames"], geo["rows"], geo["cols"]):
        raise ReadError(
            f"{path.name}: decoded pixels have shape {arr.shape[:3]}, the header says "
            f"{(geo['frames'], geo['rows'], geo['cols'])}"
        )
    return arr, photometric


def _rescale(ds, frames: int) -> list[tuple[float, float]]:
    """(slope, intercept) per frame; enhanced objects keep them in functional groups."""
    out = []
    for i in range(frames):
        slope = _frame_attr(ds, i, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _frame_attr(ds, i, "PixelValueTransformationSequence", "RescaleIntercept")
        out.append(
            (
                float(slope) if slope not in (None, "") else 1.0,
                float(intercept) if intercept not in (None, "") else 0.0,
            )
        )
    return out


def _window(ds) -> tuple[float, float] | None:
    centre = _frame_attr(ds, 0, "FrameVOILUTSequence", "WindowCenter")
    width = _frame_attr(ds, 0, "FrameVOILUTSequence", "WindowWidth")
    c, w = _floats(centre), _floats(width)
    if c and w and w[0] > 0:
        return c[0], w[0]
    return None


def _pixel_spacing(ds) -> tuple[float, float] | None:
    value = _frame_attr(ds, 0, "PixelMeasuresSequence", "PixelSpacing") or ds.get("ImagerPixelSpacing")
    spacing = _floats(value)
    if len(spacing) == 2 and all(s > 0 for s in spacing):
        return spacing[0], spacing[1]
    regions = ds.get("SequenceOfUltrasoundRegions")
    if regions:  # ultrasound: physical deltas in cm when the unit is cm (code 3)
        r = regions[0]
        if r.get("PhysicalUnitsXDirection") == 3 and r.get("PhysicalUnitsYDirection") == 3:
            dy, dx = float(r.get("PhysicalDeltaY", 0)), float(r.get("PhysicalDeltaX", 0))
            if dx > 0 and dy > 0:
                return dy * 10.0, dx * 10.0
    return None


def _slice_thickness(ds) -> float | None:
    for kw in ("SpacingBetweenSlices", "SliceThickness"):
        values = _floats(_frame_attr(ds, 0, "PixelMeasuresSequence", kw))
        if values and values[0] > 0:
            return values[0]
    return None


def _orientation(ds, frame: int = 0) -> np.ndarray | None:
    iop = _floats(_frame_attr(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient"))
    return np.array(iop) if len(iop) == 6 else None


def _position(ds, frame: int = 0) -> np.ndarray | None:
    ipp = _floats(_frame_attr(ds, frame, "PlanePositionSequence", "ImagePositionPatient"))
    return np.array(ipp) if len(ipp) == 3 else None


def _normal(iop: np.ndarray) -> np.ndarray:
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


def _stored_range(
    geo: dict[str, Any], rescale: list[tuple[float, float]], color: bool
) -> tuple[float, float]:
    lo, hi = stored_limits(geo["stored"], geo["signed"]) if geo["bits"] > 1 else (0, 1)
    if color:
        return float(lo), float(hi)
    ends = [s * v + b for s, b in rescale for v in (lo, hi)]
    return float(min(ends)), float(max(ends))


def _physical(arr: np.ndarray, rescale: list[tuple[float, float]], color: bool) -> np.ndarray:
    out = arr.astype(np.float32)
    if color:
        return out
    for i, (slope, intercept) in enumerate(rescale):
        if slope != 1.0 or intercept != 0.0:
            out[i] = out[i] * np.float32(slope) + np.float32(intercept)
    return out


def _strip_pixels(ds):
    header = copy.copy(ds)
    for kw in PIXEL_KEYWORDS:
        if kw in header:
            del header[kw]
    return header


def _common_metadata(ds, geo: dict[str, Any], path: Path) -> dict[str, Any]:
    ts = _transfer_syntax(ds)
    sop = ds.get("SOPClassUID")
    return {
        "transfer_syntax": getattr(ts, "name", str(ts or "")),
        "sop_class": getattr(sop, "name", str(sop or "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "series_description": str(ds.get("SeriesDescription", "")),
        "bits_allocated": geo["bits"],
        "bits_stored": geo["stored"],
        "pixel_representation": int(geo["signed"]),
        "source_photometric": str(ds.get("PhotometricInterpretation", "")),
    }


# -------------------------------------------------------------------------------------- read: file
def read_dicom(path: Path) -> VolumeDoc:
    with _quiet():
        return _read_dicom(path)


def _read_dicom(path: Path) -> VolumeDoc:
    ds = _open(path)
    geo = _geometry(ds, path)
    limits.check_pixels(path, geo["rows"] * geo["cols"] * geo["frames"])
    arr, photometric = _decode(ds, geo, path)
    color = arr.shape[-1] == 3
    rescale = _rescale(ds, geo["frames"])
    pixels = _physical(arr, rescale, color)
    pixel_spacing = _pixel_spacing(ds)
    iop = _orientation(ds)
    positions: list[float] = []
    if iop is not None and geo["frames"] > 1:
        pos = [_position(ds, i) for i in range(geo["frames"])]
        if all(p is not None for p in pos):
            positions = [float(np.dot(p, _normal(iop))) for p in pos]
    gaps, step = find_gaps(positions) if positions else ([], None)
    slice_step = _slice_thickness(ds) or step or 1.0
    metadata = _common_metadata(ds, geo, path)
    metadata.update(
        rescale=rescale,
        frames_per_dataset=[geo["frames"]],
        source_files=[str(path)],
        pixel_spacing_known=pixel_spacing is not None,
        source_positions=list(positions),
    )
    row, col = pixel_spacing or (1.0, 1.0)
    stored_range = _stored_range(geo, rescale, color)
    if photometric == "RGB" and str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        stored_range = (0.0, 255.0 if arr.max(initial=0) <= 255 else 65535.0)
    return VolumeDoc(
        pixels=pixels,
        path=path,
        format="DICOM",
        modality=str(ds.get("Modality", "")),
        spacing=(float(slice_step), float(row), float(col)),
        window=None if color else _window(ds),
        photometric=photometric,
        stored_range=stored_range,
        positions=positions,
        gaps=gaps,
        metadata=metadata,
        datasets=[_strip_pixels(ds)],
    )


# ------------------------------------------------------------------------------------ read: folder
def _candidate_files(folder: Path) -> list[Path]:
    files = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith(".") and p.name.upper() != "DICOMDIR":
            if p.name.endswith(provenance.SIDECAR_SUFFIX):
                continue
            files.append(p)
            if len(files) > MAX_FOLDER_FILES:
                raise ReadError(f"{folder.name}: more than {MAX_FOLDER_FILES} files; open one series folder")
    return files


def list_series(folder: Path) -> list[dict[str, Any]]:
    """Every image series in a folder: uid, orientation, size, files sorted along the slice normal."""
    groups: dict[tuple, list[tuple[Path, Any]]] = {}
    for f in _candidate_files(folder):
        try:
            ds = _open(f, stop_before_pixels=True)
            rows, cols = _int(ds, "Rows", f), _int(ds, "Columns", f)
        except ReadError:
            continue  # not DICOM, or not an image: a folder may hold other files
        if not rows or not cols:
            continue
        iop = _orientation(ds)
        key = (
            str(ds.get("SeriesInstanceUID", "")),
            tuple(np.round(iop, 3)) if iop is not None else (),
            rows,
            cols,
        )
        groups.setdefault(key, []).append((f, ds))
    series = []
    for (uid, iop, rows, cols), members in groups.items():
        if iop:
            normal = _normal(np.array(iop))
            keyed = []
            for f, ds in members:
                p = _position(ds)
                keyed.append((float(np.dot(p, normal)) if p is not None else None, f, ds))
            if all(k[0] is not None for k in keyed):
                keyed.sort(key=lambda k: k[0])
            else:
                keyed.sort(key=lambda k: int(k[2].get("InstanceNumber", 0) or 0))
        else:
            keyed = sorted(
                ((None, f, ds) for f, ds in members), key=lambda k: int(k[2].get("InstanceNumber", 0) or 0)
            )
        positions = [k[0] for k in keyed if k[0] is not None]
        series.append(
            {
                "series_uid": uid,
                "orientation": list(iop),
                "rows": rows,
                "columns": cols,
                "files": [k[1] for k in keyed],
                "positions": positions if len(positions) == len(keyed) else [],
                "description": str(keyed[0][2].get("SeriesDescription", "")),
                "modality": str(keyed[0][2].get("Modality", "")),
            }
        )
    series.sort(key=lambda s: -len(s["files"]))
    return series


def read_dicom_folder(folder: Path, index: int = 0) -> VolumeDoc:
    """Read series `index` (0 = the one with most files) of a folder as one volume."""
    with _quiet():
        return _read_dicom_folder(folder, index)


def _read_dicom_folder(folder: Path, index: int) -> VolumeDoc:
    series = list_series(folder)
    if not series:
        raise ReadError(f"{folder.name}: the folder holds no DICOM images")
    if index >= len(series):
        raise ReadError(f"{folder.name}: there is no series {index} (the folder holds {len(series)})")
    chosen = series[index]
    files = chosen["files"]
    if len(files) == 1:
        doc = _read_dicom(files[0])
        doc.metadata["series"] = _series_summary(series)
        return doc
    docs = []
    total = 0
    for f in files:
        ds = _open(f, stop_before_pixels=True)
        geo = _geometry(ds, f, require_pixels=False)
        total += geo["rows"] * geo["cols"] * geo["frames"]
    limits.check_pixels(folder, total)
    for f in files:
        docs.append(_read_dicom(f))
    channels = {d.pixels.shape[-1] for d in docs}
    if len(channels) > 1:
        raise ReadError(f"{folder.name}: the series mixes grayscale and colour images")
    first = docs[0]
    positions = chosen["positions"]
    gaps, step = find_gaps(positions) if positions else ([], None)
    metadata = dict(first.metadata)
    metadata.update(
        rescale=[r for d in docs for r in d.metadata["rescale"]],
        frames_per_dataset=[d.pixels.shape[0] for d in docs],
        source_files=[str(f) for f in files],
        source_positions=list(positions),
        series=_series_summary(series),
    )
    lo = min(d.stored_range[0] for d in docs)
    hi = max(d.stored_range[1] for d in docs)
    return VolumeDoc(
        pixels=np.concatenate([d.pixels for d in docs]),
        path=folder,
        format="DICOM",
        modality=first.modality,
        spacing=(float(step or first.spacing[0]), first.spacing[1], first.spacing[2]),
        window=first.window,
        photometric=first.photometric,
        stored_range=(lo, hi),
        positions=positions,
        gaps=gaps,
        metadata=metadata,
        datasets=[d.datasets[0] for d in docs],
    )


def _series_summary(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "series_uid": s["series_uid"],
            "modality": s["modality"],
            "description": s["description"],
            "files": len(s["files"]),
            "rows": s["rows"],
            "columns": s["columns"],
        }
        for s in series
    ]


# -------------------------------------------------------------------------------------------- write
def write_dicom(doc: VolumeDoc, target: Path, **options: Any) -> Path:
    if doc.format != "DICOM" or not doc.datasets:
        raise WriteError(
            f"{target.name}: only scans read from DICOM can be saved as DICOM "
            "(save NIfTI volumes as .nii or .nii.gz)"
        )
    pixels = np.asarray(doc.pixels, dtype=np.float32)
    if pixels.ndim != 4:
        raise WriteError(f"{target.name}: cannot save pixels of shape {pixels.shape} as DICOM")
    with _quiet():
        return _write_dicom(doc, target, pixels)


def _write_dicom(doc: VolumeDoc, target: Path, pixels: np.ndarray) -> Path:
    series_uid = _new_uid()
    if len(doc.datasets) == 1:
        ds = _derive(doc, doc.datasets[0], pixels, list(range(pixels.shape[0])), series_uid, 1)
        return atomic_write(target, lambda tmp: _save(ds, tmp))
    if target.suffix.lower() in (".dcm", ".dicom", ".ima"):
        raise WriteError(f"{target.name}: a series is saved as a folder of files; name a folder, not a file")
    frame_src = _frame_sources(doc, pixels.shape[0])
    with atomic_folder(target) as tmp_folder:
        for i in range(pixels.shape[0]):
            src_index = frame_src[i]
            ds = _derive(
                doc,
                doc.datasets[src_index],
                pixels[i : i + 1],
                [i],
                series_uid,
                i + 1,
                dataset_index=src_index,
            )
            _save(ds, tmp_folder / f"{i + 1:04d}.dcm")
    return target


def _new_uid() -> str:
    from pydicom.uid import generate_uid

    return generate_uid()


def _frame_sources(doc: VolumeDoc, frames: int) -> list[int]:
    """Which source dataset serves as template for each output slice (nearest position)."""
    n = len(doc.datasets)
    if frames == n:
        return list(range(n))
    src_pos = doc.metadata.get("source_positions") or []
    if len(doc.positions) == frames and len(src_pos) == n:
        return [int(np.argmin(np.abs(np.asarray(src_pos) - p))) for p in doc.positions]
    return [min(n - 1, int(round(i * (n - 1) / max(frames - 1, 1)))) for i in range(frames)]


def _to_stored(values: np.ndarray, slope: float, intercept: float, lo: int, hi: int) -> np.ndarray:
    stored = (values.astype(np.float64) - intercept) / (slope or 1.0)
    return np.clip(np.rint(stored), lo, hi)


def _numpy_type(bits: int, signed: bool) -> np.dtype:
    size = {8: 8, 16: 16, 32: 32}.get(bits, 16)
    return np.dtype(f"{'int' if signed else 'uint'}{size}")


def _derive(
    doc: VolumeDoc,
    src,
    pixels: np.ndarray,
    frame_ids: list[int],
    series_uid: str,
    instance: int,
    dataset_index: int = 0,
):
    """A new derived dataset from `src` (header only) holding `pixels` (frames, H, W, C)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

    ds = copy.deepcopy(src)
    for _ in ds.iterall():  # turn every raw element into a value, so that it can be re-encoded
        pass
    # written as Explicit VR Little Endian whatever the source was (big endian, implicit VR)
    ds.set_original_encoding(False, True, ds.original_character_set)
    for kw in (*PIXEL_KEYWORDS, "SmallestImagePixelValue", "LargestImagePixelValue"):
        if kw in ds:
            del ds[kw]
    frames, rows, cols, channels = pixels.shape
    now = _dt.datetime.now()
    summary = provenance.summary(doc)
    record = provenance.as_json(doc)

    # identity: a new instance of a new series in the same study, for the same patient
    ds.SOPInstanceUID = _new_uid()
    ds.SeriesInstanceUID = series_uid
    if "SeriesNumber" in src and str(src.SeriesNumber).strip():
        try:
            ds.SeriesNumber = int(src.SeriesNumber) + 1000
        except (TypeError, ValueError):
            pass
    ds.InstanceNumber = instance
    image_type = [str(v) for v in _floats_or_strings(src.get("ImageType"))]
    ds.ImageType = ["DERIVED", "SECONDARY", *image_type[2:]]
    ds.DerivationDescription = summary[:1024]
    ds.ImageComments = (summary + ". Repaired pixels are reconstructions, not acquired data.")[:10240]
    description = str(src.get("SeriesDescription", "")).strip()
    tasks = ", ".join(p.task for p in doc.provenance) or "saved"
    ds.SeriesDescription = f"{description} [Lacuna {tasks}]".strip()[-64:]
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    if "SOPClassUID" in src and "SOPInstanceUID" in src:
        ref = Dataset()
        ref.ReferencedSOPClassUID = src.SOPClassUID
        ref.ReferencedSOPInstanceUID = src.SOPInstanceUID
        ds.SourceImageSequence = Sequence([ref])
    equipment = Dataset()
    equipment.Manufacturer = "Lacuna"
    equipment.SoftwareVersions = __version__
    equipment.ContributionDateTime = now.strftime("%Y%m%d%H%M%S")
    equipment.ContributionDescription = summary[:1024]
    purpose = Dataset()
    purpose.CodeValue = "109103"
    purpose.CodingSchemeDesignator = "DCM"
    purpose.CodeMeaning = "Modifying Equipment"
    equipment.PurposeOfReferenceCodeSequence = Sequence([purpose])
    ds.ContributingEquipmentSequence = Sequence([*src.get("ContributingEquipmentSequence", []), equipment])
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "UT", record)

    # geometry
    size_changed = (rows, cols) != (int(src.get("Rows", rows)), int(src.get("Columns", cols)))
    ds.Rows, ds.Columns = rows, cols
    if size_changed:
        _update_spacing(ds, doc.spacing[1], doc.spacing[2])
    if "NumberOfFrames" in src or frames > 1:
        ds.NumberOfFrames = frames
        _fit_per_frame_groups(ds, frames)
    if len(doc.datasets) > 1 and doc.positions and len(doc.positions) > frame_ids[0]:
        _move_slice(ds, src, doc, frame_ids[0], dataset_index)

    # pixel values
    bits = int(src.get("BitsAllocated", 16))
    stored_bits = int(src.get("BitsStored", bits))
    signed = int(src.get("PixelRepresentation", 0)) == 1
    if channels == 3:
        data = _color_values(ds, src, pixels, doc)
    elif bits == 1:
        from pydicom.pixels import pack_bits

        data = pack_bits((pixels[..., 0] > 0.5).astype(np.uint8).ravel())
    else:
        lo, hi = stored_limits(stored_bits, signed)
        out = np.empty((frames, rows, cols), dtype=_numpy_type(bits, signed))
        # the derived header's own rescale (per frame for enhanced objects) maps values back
        for k, (slope, intercept) in enumerate(_rescale(ds, frames)):
            out[k] = _to_stored(pixels[k, ..., 0], slope, intercept, lo, hi)
        data = out.tobytes()
        if "ModalityLUTSequence" in ds:  # a table cannot be inverted: the values are stored as they are
            del ds["ModalityLUTSequence"]
    if len(data) % 2:
        data += b"\x00"
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) <= 8 else "OW"

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"LACUNA_{__version__}"[:16]
    ds.file_meta = meta
    return ds


def _floats_or_strings(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split("\\")
    return list(value)


def _color_values(ds, src, pixels: np.ndarray, doc: VolumeDoc) -> bytes:
    hi = (doc.stored_range or (0.0, 255.0))[1]
    bits = 8 if hi <= 255 else 16
    for kw in list(ds.keys()):
        name = ds[kw].keyword
        if "PaletteColorLookupTable" in name or name == "PixelPaddingValue":
            del ds[kw]
    ds.PhotometricInterpretation = "RGB"
    ds.SamplesPerPixel = 3
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.clip(np.rint(pixels), 0, 2**bits - 1).astype(dtype).tobytes()


def _update_spacing(ds, row: float, col: float) -> None:
    """New PixelSpacing after a change of matrix size (top level and functional groups)."""
    spacing = [f"{row:.6g}", f"{col:.6g}"]
    if "PixelSpacing" in ds or "ImagerPixelSpacing" not in ds:
        ds.PixelSpacing = spacing
    if "ImagerPixelSpacing" in ds:
        ds.ImagerPixelSpacing = spacing
    for groups_kw in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for item in ds.get(groups_kw, []):
            for measures in item.get("PixelMeasuresSequence", []):
                measures.PixelSpacing = spacing
    if "SequenceOfUltrasoundRegions" in ds:  # region coordinates refer to the old matrix
        del ds["SequenceOfUltrasoundRegions"]


def _fit_per_frame_groups(ds, frames: int) -> None:
    groups = ds.get("PerFrameFunctionalGroupsSequence")
    if groups is None or len(groups) == frames:
        return
    from pydicom.sequence import Sequence

    n = len(groups)
    picks = [min(n - 1, int(round(i * (n - 1) / max(frames - 1, 1)))) for i in range(frames)]
    ds.PerFrameFunctionalGroupsSequence = Sequence([copy.deepcopy(groups[i]) for i in picks])


def _move_slice(ds, src, doc: VolumeDoc, frame: int, dataset_index: int) -> None:
    """Place a written slice at `doc.positions[frame]` along the normal (new or moved slices)."""
    iop, ipp = _orientation(src), _position(src)
    src_pos = doc.metadata.get("source_positions") or doc.positions
    if iop is None or ipp is None or dataset_index >= len(src_pos):
        return
    shift = doc.positions[frame] - src_pos[dataset_index]
    if abs(shift) < 1e-6:
        return
    new = ipp + _normal(iop) * shift
    ds.ImagePositionPatient = [f"{v:.6g}" for v in new]
    if "SliceLocation" in src:
        ds.SliceLocation = f"{float(src.SliceLocation) + shift:.6g}"


def _save(ds, path: Path) -> None:
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)


def provenance_of(path: Path) -> dict[str, Any] | None:
    """The Lacuna record stored in a derived file's private block, if any."""
    with _quiet():
        ds = _open(path, stop_before_pixels=True)
    try:
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        return json.loads(block[0x01].value)
    except (KeyError, ValueError):
        return None
