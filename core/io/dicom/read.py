"""Reading one DICOM file (single or multi-frame) into a VolumeDoc in physical units.

- Pixels become float32 (frames, H, W, C): the modality LUT (rescale slope and intercept, per frame
  for enhanced multi-frame objects) is applied, so CT is in HU.
- MONOCHROME1 values are kept as stored; `VolumeDoc.photometric` says "MONOCHROME1" and the display
  inverts it. Palette colour is expanded to RGB; YBR is converted to RGB by pydicom.
- Header sizes are checked against the pixel limit before anything is decoded.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import VolumeDoc
from core.errors import ReadError
from core.io import limits
from core.io.dicom.header import (
    PIXEL_KEYWORDS,
    DicomHeaders,
    find_gaps,
    first_line,
    geometry,
    is_compressed,
    noting,
    open_dataset,
    optional_floats,
    plane_normal,
    plane_orientation,
    plane_position,
    private_record,
    quiet,
    rescale_pairs,
    stored_limits,
    text_value,
    transfer_syntax,
)
from core.io.quiet import quiet_c_stderr


def _check_native_length(ds, geo: dict[str, Any], path: Path) -> None:
    """Report truncated uncompressed pixel data before decoding, with both sizes."""
    if is_compressed(transfer_syntax(ds)):
        return
    if "PixelData" not in ds:
        return
    n = geo["rows"] * geo["cols"] * geo["frames"]
    photometric = geo["photometric"]
    if geo["bits"] == 1:
        expected = (n * geo["spp"] + 7) // 8
    elif photometric.endswith("_422") and geo["spp"] == 3:
        expected = n * 2 * geo["bits"] // 8
    else:
        expected = n * geo["spp"] * geo["bits"] // 8
    found = len(ds.PixelData or b"")
    if found < expected:
        raise ReadError(f"{path.name}: pixel data is truncated (expected {expected} bytes, found {found})")


def _decode(ds, geo: dict[str, Any], path: Path) -> tuple[np.ndarray, str]:
    """Stored values as (frames, H, W, C) plus the photometric interpretation they are in now."""
    _check_native_length(ds, geo, path)
    photometric = geo["photometric"] or "MONOCHROME2"
    try:
        with quiet_c_stderr():  # the JPEG and JPEG 2000 libraries print what they find damaged
            arr = ds.pixel_array
    except NotImplementedError as exc:
        raise ReadError(f"{path.name}: {first_line(exc)}") from exc
    except RuntimeError as exc:  # pydicom: no plugin for this transfer syntax, or every plugin failed
        raise ReadError(_undecodable(ds, path, exc)) from exc
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise many kinds on damaged data
        raise ReadError(
            f"{path.name}: the pixel data is damaged or does not match what the header declares "
            "(rows, columns, bits, samples)"
        ) from exc
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            arr = apply_color_lut(arr, ds)
        except (ValueError, KeyError, AttributeError) as exc:
            raise ReadError(f"{path.name}: the palette colour lookup table is unusable ({exc})") from exc
        if arr.dtype == np.uint16:  # an 8-bit palette in 16-bit entries (v × 257, or v × 256: v << 8)
            for scale in (257, 256):
                if not np.any(arr % scale):  # exact: a result is then written as 8-bit RGB, not 16
                    arr = (arr // scale).astype(np.uint8)
                    break
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


def _undecodable(ds, path: Path, exc: RuntimeError) -> str:
    """Why compressed pixel data could not be decoded, in words: no decoder for it here, a variant the
    decoders do not support, or damaged data (the decoders' own texts name offsets and markers)."""
    ts = transfer_syntax(ds)
    name = getattr(ts, "name", str(ts))
    lines = str(exc).splitlines()
    reasons = [line.strip() for line in lines[1:] if line.strip()]
    if not reasons or "missing dependencies" in (lines[0] if lines else ""):
        return f"{path.name}: no decoder for {name} pixel data is installed"
    unsupported = [r for r in reasons if "support" in r]
    if unsupported:
        return f"{path.name}: its {name} pixel data cannot be decoded here ({unsupported[0]})"
    return f"{path.name}: its {name} pixel data is damaged; no decoder could read it"


def _window(ds) -> tuple[float, float] | None:
    c = optional_floats(ds, 0, "FrameVOILUTSequence", "WindowCenter")
    w = optional_floats(ds, 0, "FrameVOILUTSequence", "WindowWidth")
    if c and w and w[0] > 0:
        return c[0], w[0]
    return None


def _pixel_spacing(ds) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = optional_floats(ds, 0, "PixelMeasuresSequence", keyword)
        if len(spacing) == 2 and all(s > 0 for s in spacing):
            return spacing[0], spacing[1]
    regions = ds.get("SequenceOfUltrasoundRegions")
    if regions:  # ultrasound: physical deltas in cm when the unit is cm (code 3)
        r = regions[0]
        if r.get("PhysicalUnitsXDirection") == 3 and r.get("PhysicalUnitsYDirection") == 3:
            dy = optional_floats(r, 0, "", "PhysicalDeltaY")
            dx = optional_floats(r, 0, "", "PhysicalDeltaX")
            if dx and dy and dx[0] > 0 and dy[0] > 0:
                return dy[0] * 10.0, dx[0] * 10.0
    return None


def _slice_thickness(ds) -> float | None:
    for kw in ("SpacingBetweenSlices", "SliceThickness"):
        values = optional_floats(ds, 0, "PixelMeasuresSequence", kw)
        if values and values[0] > 0:
            return values[0]
    return None


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
    ts = transfer_syntax(ds)
    return {
        "transfer_syntax": getattr(ts, "name", str(ts or "")),
        "sop_class": text_value(ds, "SOPClassUID"),
        "series_uid": text_value(ds, "SeriesInstanceUID"),
        "series_description": text_value(ds, "SeriesDescription"),
        "bits_allocated": geo["bits"],
        "bits_stored": geo["stored"],
        "pixel_representation": int(geo["signed"]),
        "source_photometric": geo["photometric"],
    }


def read_dicom(path: Path) -> VolumeDoc:
    with quiet():
        return read_file(path)


def read_file(path: Path) -> VolumeDoc:
    with noting(path) as notes:
        doc = _read_file(path)
    if notes:
        doc.metadata["read_warnings"] = list(notes)
    return doc


def _padding_value(ds, rescale: list[tuple[float, float]], color: bool) -> float | None:
    """PixelPaddingValue (outside the scanned area) in the pixels' own units (HU), or None."""
    try:
        stored = ds.get("PixelPaddingValue")
        if color or stored is None or isinstance(stored, list | tuple) or not rescale:
            return None
        slope, intercept = rescale[0]
        return float(stored) * slope + intercept
    except (TypeError, ValueError):
        return None


def _rescale(ds, frames: int, path: Path) -> list[tuple[float, float]]:
    """The modality LUT: not optional (the values mean nothing without it), so nonsense is an error."""
    try:
        pairs = rescale_pairs(ds, frames)
    except Exception as exc:  # noqa: BLE001 - float() of nonsense, or pydicom failing to decode it
        raise ReadError(f"{path.name}: invalid RescaleSlope or RescaleIntercept ({first_line(exc)})") from exc
    if not all(math.isfinite(v) for pair in pairs for v in pair):
        raise ReadError(f"{path.name}: invalid RescaleSlope or RescaleIntercept ({pairs[0]})")
    if any(slope == 0 for slope, _ in pairs):  # every pixel the same value: the stored ones are lost
        raise ReadError(f"{path.name}: invalid RescaleSlope 0 (it would make every pixel the same)")
    return pairs


def _read_file(path: Path) -> VolumeDoc:
    ds = open_dataset(path)
    geo = geometry(ds, path)
    samples = geo["rows"] * geo["cols"] * geo["frames"]
    limits.check_pixels(path, samples)
    palette = geo["photometric"] == "PALETTE COLOR"
    channels = 3 if palette else geo["spp"]
    # the stored values (a palette expands to 3 samples), and their float32 copy
    limits.check_memory(path, samples * channels * (-(-geo["bits"] // 8) + 4))
    arr, photometric = _decode(ds, geo, path)
    color = arr.shape[-1] == 3
    rescale = _rescale(ds, geo["frames"], path)
    pixels = _physical(arr, rescale, color)
    pixel_spacing = _pixel_spacing(ds)
    iop = plane_orientation(ds)
    positions: list[float] = []
    if iop is not None and geo["frames"] > 1:
        pos = [plane_position(ds, i) for i in range(geo["frames"])]
        if all(p is not None for p in pos):
            positions = [float(np.dot(p, plane_normal(iop))) for p in pos]
    gaps, step = find_gaps(positions) if positions else ([], None)
    slice_step = _slice_thickness(ds) or step or 1.0
    metadata = _common_metadata(ds, geo, path)
    metadata.update(
        rescale=rescale,
        frames_per_dataset=[geo["frames"]],
        source_files=[str(path)],
        pixel_spacing_known=pixel_spacing is not None,
        slice_spacing_known=bool(_slice_thickness(ds) or step),
        slice_thickness=next(iter(optional_floats(ds, 0, "PixelMeasuresSequence", "SliceThickness")), None),
        lacuna_provenance=private_record(ds),
    )
    padding = _padding_value(ds, rescale, color)
    if padding is not None:
        metadata["padding_value"] = padding
    row, col = pixel_spacing or (1.0, 1.0)
    stored_range = _stored_range(geo, rescale, color)
    if photometric == "RGB" and palette:
        stored_range = (0.0, 255.0 if arr.max(initial=0) <= 255 else 65535.0)
    return VolumeDoc(
        pixels=pixels,
        path=path,
        format="DICOM",
        modality=text_value(ds, "Modality"),
        spacing=(float(slice_step), float(row), float(col)),
        window=None if color else _window(ds),
        photometric=photometric,
        stored_range=stored_range,
        positions=positions,
        gaps=gaps,
        metadata=metadata,
        writeback=DicomHeaders([_strip_pixels(ds)], list(positions)),
    )
