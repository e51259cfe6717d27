"""NIfTI-1/2 (and the other volumes nibabel reads: MGH, MINC, PAR/REC, AFNI) through nibabel.

Voxel (i, j, k) becomes pixel (frame k, row j, column i), so a slice is data[:, :, k] shown with i
running across; a 4-D series (i, j, k, t) is `time_points` = t volumes of k slices, time-major
(frame t * k + slice). The header and affine are the document's write-back data (`NiftiHeader`);
the axis codes (`metadata["orientation"]`, e.g. RAS) are kept; spacing is (dk, dj, di) from the
affine.

On saving, integer data stays in the source's integer type when every value is a whole number that
fits (and the source had no scaling); anything else is written as float32 with slope 1, intercept
0, so nothing is rounded silently. Provenance goes into `descrip` and a NIfTI comment extension.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import VolumeDoc
from core.errors import ReadError, WriteError
from core.io import describe as describing
from core.io import limits, provenance
from core.io.atomic import atomic_write
from core.io.formats import FileFormat, Written

COMMENT_EXTENSION = 6  # NIfTI extension code "comment"
NIFTI_CLASSES = ("Nifti1Image", "Nifti2Image")  # the classes whose header can be written back


@dataclass
class NiftiHeader:
    """A NIfTI document's write-back data: the source header (NIfTI-1/2 only) and affine."""

    header: Any
    affine: np.ndarray


def read_nifti(path: Path) -> VolumeDoc:
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError, HeaderTypeError

    try:
        img = nib.load(path)
    except ImageFileError as exc:
        raise ReadError(f"{path.name}: not a volume nibabel can read ({_first_line(exc)})") from exc
    except FileNotFoundError as exc:
        raise ReadError(f"{path.name}: a file it needs is missing ({exc.filename or exc})") from exc
    except ModuleNotFoundError as exc:
        raise ReadError(f"{path.name}: reading this kind of volume needs the package {exc.name!r}") from exc
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        OverflowError,
        zlib.error,
        HeaderDataError,
        HeaderTypeError,
    ) as exc:
        raise ReadError(f"{path.name}: the volume is damaged ({_first_line(exc)})") from exc
    if not hasattr(img.header, "get_zooms") or type(img).__name__.startswith("Cifti"):
        raise ReadError(f"{path.name}: {type(img).__name__} files are not volumes Lacuna reads")
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 4 and shape[-1] == 1:
        shape = shape[:-1]
    if not 2 <= len(shape) <= 4:
        raise ReadError(f"{path.name}: {len(shape)}-D data is not supported (2-D, 3-D or 4-D)")
    if 0 in shape:
        raise ReadError(f"{path.name}: the volume is empty (its size is {' × '.join(map(str, shape))})")
    limits.check_pixels(path, math.prod(shape))  # Python ints: 2^32 x 2^32 must not wrap to 0
    stored = np.dtype(img.header.get_data_dtype()).itemsize if hasattr(img.header, "get_data_dtype") else 8
    # the stored values, the float32 volume and its frame-ordered copy
    limits.check_memory(path, math.prod(shape) * (stored + 8))
    try:
        data = np.asarray(img.get_fdata(dtype=np.float32)).reshape(shape)
    except FileNotFoundError as exc:
        missing = Path(exc.filename).name if exc.filename else "its data file"
        raise ReadError(f"{path.name}: the voxel data file {missing} is missing") from exc
    except ModuleNotFoundError as exc:
        raise ReadError(f"{path.name}: reading this kind of volume needs the package {exc.name!r}") from exc
    except (OSError, ValueError, EOFError, MemoryError, OverflowError, zlib.error, HeaderDataError) as exc:
        raise ReadError(f"{path.name}: the voxel data is damaged or truncated ({_first_line(exc)})") from exc
    if data.ndim == 2:
        data = data[:, :, None]
    volumes = data.shape[3] if data.ndim == 4 else 1
    if data.ndim == 3:
        data = data[..., None]
    # (i, j, k, t) -> (t, k, j, i) -> (t*k, j, i, 1)
    frames = np.ascontiguousarray(data.transpose(3, 2, 1, 0)).reshape(-1, data.shape[1], data.shape[0])
    header = img.header
    warnings: list[str] = []
    affine = _usable_affine(img, path, warnings)
    # spacing from the affine's columns (what the data means in mm), as the writer will store it
    zooms = [float(z) for z in np.linalg.norm(affine[:3, :3], axis=0)]
    data_dtype = (
        np.dtype(header.get_data_dtype()) if hasattr(header, "get_data_dtype") else np.dtype("float32")
    )
    slope, inter = _slope_inter(img)
    metadata: dict[str, Any] = {
        "nifti_shape": list(shape),
        "data_dtype": str(data_dtype),
        "scl_slope": slope,
        "scl_inter": inter,
        "orientation": "".join(nib.aff2axcodes(affine)),
        "image_class": type(img).__name__,
    }
    if warnings:
        metadata["read_warnings"] = warnings
    descrip = _descrip(header)
    if descrip:
        metadata["descrip"] = descrip
    comments = [
        e.get_content() for e in getattr(header, "extensions", []) if e.get_code() == COMMENT_EXTENSION
    ]
    if comments:
        metadata["lacuna_provenance"] = comments[-1]
    return VolumeDoc(
        pixels=frames[..., None].astype(np.float32, copy=False),
        path=path,
        format="NIfTI",
        modality=str(metadata.get("modality", "")),
        spacing=(zooms[2], zooms[1], zooms[0]),
        window=_window(header),
        stored_range=_stored_range(data_dtype, slope, inter),
        positions=[],
        metadata=metadata,
        time_points=volumes,
        writeback=NiftiHeader(
            header if type(img).__name__ in ("Nifti1Image", "Nifti2Image") else None, affine
        ),
    )


def _usable_affine(img, path: Path, warnings: list[str]) -> np.ndarray:
    """The voxel-to-world matrix; a singular or non-finite one (a damaged header) becomes the identity,
    with a warning, so that the voxels can still be read and shown."""
    try:
        affine = np.asarray(img.affine, dtype=np.float64)
        if np.all(np.isfinite(affine)) and abs(np.linalg.det(affine[:3, :3])) > 0:
            return affine
    except (TypeError, ValueError, np.linalg.LinAlgError):
        pass
    warnings.append(
        f"{path.name}: the header's voxel-to-world matrix is unusable; voxels are shown 1 mm apart"
    )
    return np.eye(4)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _slope_inter(img) -> tuple[float, float]:
    """The scaling nibabel applied to the stored values (its array proxy's: a header whose scl_slope is
    NaN can still be scaled, as shear.nii.gz is: uint8 stored, 7.11 * v - 1024 HU read)."""
    try:
        slope, inter = img.dataobj.slope, img.dataobj.inter
    except AttributeError:
        try:
            slope, inter = img.header.get_slope_inter()
        except (AttributeError, NotImplementedError, TypeError):
            return 1.0, 0.0
    slope = 1.0 if slope is None or not np.isfinite(slope) or slope == 0 else float(slope)
    inter = 0.0 if inter is None or not np.isfinite(inter) else float(inter)
    return slope, inter


def _descrip(header) -> str:
    try:
        value = header["descrip"]
    except (KeyError, ValueError, TypeError):
        return ""
    value = value.item() if hasattr(value, "item") else value
    return value.decode("latin-1", "replace").strip("\x00 ") if isinstance(value, bytes) else str(value)


def _window(header) -> tuple[float, float] | None:
    try:
        lo, hi = float(header["cal_min"]), float(header["cal_max"])
    except (KeyError, ValueError, TypeError):
        return None
    if hi > lo:
        return (lo + hi) / 2.0, hi - lo
    return None


def _stored_range(dtype: np.dtype, slope: float, inter: float) -> tuple[float, float] | None:
    if dtype.kind not in "iu":
        return None
    info = np.iinfo(dtype)
    ends = sorted((info.min * slope + inter, info.max * slope + inter))
    return float(ends[0]), float(ends[1])


def write_nifti(doc: VolumeDoc, target: Path, **options: Any) -> Written:
    import nibabel as nib

    img, notes = nifti_image(doc, target)
    img.header["descrip"] = provenance.summary(doc)[:79].encode("latin-1", "replace")
    record = provenance.as_json(doc, target, notes).encode("utf-8")
    img.header.extensions.append(nib.nifti1.Nifti1Extension(COMMENT_EXTENSION, record))
    return Written(atomic_write(target, lambda tmp: nib.save(img, str(tmp))), notes)


def nifti_image(doc: VolumeDoc, target: Path):
    """(the nibabel image of `doc` on the source's grid, with its header; the notes of how it is
    stored): what `write_nifti` saves, and the uncertainty map beside it on the same grid."""
    import nibabel as nib

    pixels = np.asarray(doc.pixels, dtype=np.float32)
    if pixels.ndim != 4 or pixels.shape[-1] != 1:
        raise WriteError(
            f"{target.name}: NIfTI holds one value per voxel; these pixels have shape {pixels.shape}"
        )
    frames, height, width = pixels.shape[:3]
    volumes = doc.time_points if frames % max(doc.time_points, 1) == 0 else 1
    data = pixels[..., 0].reshape(volumes, frames // volumes, height, width).transpose(3, 2, 1, 0)
    if volumes == 1:
        data = data[..., 0]
    affine, placed = _affine_for(doc, width, height)
    source_header = doc.writeback.header if isinstance(doc.writeback, NiftiHeader) else None
    image_class = nib.Nifti2Image if doc.metadata.get("image_class") == "Nifti2Image" else nib.Nifti1Image
    out_dtype, why = _output_dtype(doc, data)
    array = (
        np.clip(np.rint(data), *_limits(out_dtype)).astype(out_dtype)
        if out_dtype.kind in "iu"
        else data.astype(np.float32)
    )
    header = (
        source_header.copy()
        if source_header is not None and isinstance(source_header, image_class.header_class)
        else None
    )
    img = image_class(array, affine, header=header)
    source_affine = np.asarray(doc.writeback.affine, np.float64) if header is not None else None
    if header is not None and int(header["qform_code"]) > 0 and abs(np.linalg.det(source_affine)) > 1e-12:
        # nibabel drops the qform (code 0) when the affine changed (slices inserted): viewers that
        # read the qform first would lose the scanner space. It moves as the sform did: the new
        # voxels in the source's voxels (inv(old sform) @ new sform), then the source's qform.
        to_source = np.linalg.solve(source_affine, affine)
        img.set_qform(source_header.get_qform() @ to_source, code=int(header["qform_code"]))
    img.header.set_data_dtype(out_dtype)
    img.header.set_slope_inter(1.0, 0.0)
    if header is None:  # a new header (a DICOM series, a TIFF stack): what a NIfTI reader needs
        img.header.set_xyzt_units("mm", "sec")
        if doc.window:  # the series' own window, which viewers (and Lacuna) open it with
            centre, width = doc.window
            img.header["cal_min"], img.header["cal_max"] = centre - width / 2, centre + width / 2
    notes = (f"stored as {out_dtype}: {why}",) if why else ()  # not in the source's type, and why
    notes += (placed,) if placed else ()
    return img, notes


def _limits(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _output_dtype(doc: VolumeDoc, data: np.ndarray) -> tuple[np.dtype, str]:
    """The source's integer type where that loses nothing, otherwise float32, and why not the source's."""
    if "data_dtype" not in doc.metadata and not isinstance(doc.writeback, NiftiHeader):
        # not from a NIfTI (a DICOM series): whole numbers that int16 holds (HU) are stored so
        whole = data.size and np.all(data == np.rint(data)) and data.min() >= -32768 and data.max() <= 32767
        return (np.dtype(np.int16) if whole else np.dtype(np.float32)), ""
    source = np.dtype(doc.metadata.get("data_dtype", "float32"))
    if source.kind not in "iu" or not data.size:
        return np.dtype(np.float32), ""
    if doc.metadata.get("scl_slope", 1.0) != 1.0 or doc.metadata.get("scl_inter", 0.0) != 0.0:
        return np.dtype(
            np.float32
        ), f"the source's {source} values are scaled; the values are written as they are"
    lo, hi = _limits(source)
    if np.all(data == np.rint(data)) and data.min() >= lo and data.max() <= hi:
        return source, ""
    return np.dtype(np.float32), (
        f"the source was {source}, but the repaired values are not all whole numbers within its range,"
        " and rounding them would lose what the repair made"
    )


def _affine_for(doc: VolumeDoc, width: int, height: int) -> tuple[np.ndarray, str]:
    """The source's affine (a NIfTI's own; a DICOM series' from its slices' positions and orientation),
    rescaled when the in-plane size changed (upscaling) or slices were inserted between the source's
    own (thinner slices); and a note where the slices written are not evenly spaced, which one
    affine cannot hold."""
    affine, shape = _source_geometry(doc)
    if shape and len(shape) >= 2:
        scale = np.eye(4)
        # in-plane: new voxel index n maps to old index s*n + (s-1)/2 (voxel centres stay aligned)
        for axis, (old, new) in enumerate(((shape[0], width), (shape[1], height))):
            s = old / new
            scale[axis, axis] = s
            scale[axis, 3] = (s - 1.0) / 2.0
        slices = shape[2] if len(shape) > 2 else 1
        if slices > 1 and doc.slices != slices:
            # through-plane: the first and last slices stay where they were, the others evenly between
            scale[2, 2] = (slices - 1) / (doc.slices - 1)
        affine = affine @ scale
    return affine, _uneven_note(doc, affine)


def _uneven_note(doc: VolumeDoc, affine: np.ndarray) -> str:
    """What a person must know when the slices written lie unevenly: NIfTI stores them evenly."""
    from core.io.dicom.placement import even_step

    positions = list(doc.positions[: doc.slices])
    if len(positions) < 3 or even_step(positions) is not None:
        return ""
    steps = np.abs(np.diff(positions))
    stored = float(np.linalg.norm(affine[:3, 2]))
    even = np.linspace(positions[0], positions[-1], len(positions))
    moved = float(np.abs(even - np.asarray(positions)).max())
    return (
        f"NIfTI holds one slice spacing: the slices are {steps.min():.3g}–{steps.max():.3g} mm apart, and"
        f" are stored {stored:.3g} mm apart (first and last in place, others up to {moved:.3g} mm from"
        " where they were taken); keep the DICOM series for their true positions"
    )


def _source_geometry(doc: VolumeDoc) -> tuple[np.ndarray, Any]:
    """(affine, shape (columns, rows, slices) or None) of the volume the document was read from, in
    whatever format; a volume that does not say where it lies is placed by its spacing alone."""
    from core.io.geometry import placement

    placed = placement(doc)
    if placed is not None:
        return np.asarray(placed[0]), placed[1]
    return np.diag([doc.spacing[2], doc.spacing[1], doc.spacing[0], 1.0]), None


def _placement(doc: VolumeDoc) -> tuple[np.ndarray, Any] | None:
    """A NIfTI's own affine and stored shape (its FileFormat.placement)."""
    if not isinstance(doc.writeback, NiftiHeader):
        return None
    return np.array(doc.writeback.affine), doc.metadata.get("nifti_shape")


def qform_of(doc) -> np.ndarray | None:
    """A NIfTI's qform where its header sets one, else None."""
    header = doc.writeback.header if isinstance(getattr(doc, "writeback", None), NiftiHeader) else None
    if header is None or int(header["qform_code"]) <= 0:
        return None
    return np.asarray(header.get_qform(), np.float64)


def describe(doc: VolumeDoc, scan: bool = True) -> dict[str, Any]:
    meta = doc.metadata
    info = describing.volume(doc)
    info["dtype"] = str(np.dtype(meta.get("data_dtype", "float32")).name)
    slope, intercept = float(meta.get("scl_slope", 1.0)), float(meta.get("scl_inter", 0.0))
    scaling = describing.rescale(slope, intercept)
    whole = np.issubdtype(np.dtype(meta.get("data_dtype", "float32")), np.integer)
    if scaling and whole:  # a float volume's scaling sets no step
        ends = describing.minmax(doc.pixels)
        if ends:
            info["stored_values"] = [describing.num(round((v - intercept) / slope)) for v in ends]
        info["rescale"] = scaling
    info["volumes"] = doc.time_points
    if isinstance(doc.writeback, NiftiHeader):
        info["affine"] = [[describing.num(v) for v in row] for row in doc.writeback.affine]
        tilt = _shear(np.asarray(doc.writeback.affine, float))
        if tilt is not None:
            info["gantry_tilt"] = tilt
    info["orientation"] = meta.get("orientation", "")
    if isinstance(doc.writeback, NiftiHeader):
        oblique = _obliquity(np.asarray(doc.writeback.affine, float))
        if oblique:
            info["oblique"] = f"{oblique:.1f}° from the nearest axes (the axis codes are the nearest)"
        if doc.writeback.header is not None:
            info["transforms"] = _transforms(doc.writeback.header)
    if meta.get("descrip"):
        info["description"] = meta["descrip"]
    return info


XFORM_CODES = {0: "unknown", 1: "scanner", 2: "aligned", 3: "Talairach", 4: "MNI", 5: "template"}


def _obliquity(affine: np.ndarray) -> float:
    """How far (degrees) the voxel axes lie from the nearest world axes; 0 within half a degree."""
    axes = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    degrees = float(np.degrees(np.arccos(np.clip(np.abs(axes).max(axis=0), 0.0, 1.0))).max())
    return degrees if degrees >= 0.5 else 0.0


def _transforms(header) -> str:
    """Which of the header's two voxel-to-world matrices are set, and whether they agree (a reader
    that takes the qform first places a sheared volume elsewhere: the qform cannot hold a shear)."""
    qcode, scode = int(header["qform_code"]), int(header["sform_code"])
    said = [
        f"{name} ({XFORM_CODES.get(code, code)})"
        for name, code in (("sform", scode), ("qform", qcode))
        if code
    ]
    if not said:
        return "neither sform nor qform set (voxel spacing only)"
    if qcode and scode and not np.allclose(header.get_qform(), header.get_sform(), atol=1e-3):
        return f"{' and '.join(said)} differ: Lacuna places voxels by the sform, as nibabel does"
    return " and ".join(said) + (", the same" if qcode and scode else "")


def _shear(affine: np.ndarray) -> str | None:
    """The gantry tilt in words, for lacuna info."""
    from core.io.geometry import slice_tilt

    degrees = slice_tilt(affine)
    if degrees is None:
        return None
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    apart = abs(float(np.dot(normal / np.linalg.norm(normal), affine[:3, 2])))
    return f"{degrees:.2f}° (slices sheared; slice planes {apart:.4g} mm apart)"


def _magic(head: bytes) -> bool:
    return head[344:348] in (b"n+1\x00", b"ni1\x00") or head[4:8] in (b"n+2\x00", b"ni2\x00")


FORMAT = FileFormat(
    name="nifti",
    title="volumes: NIfTI, MGH, MINC, PAR/REC",
    extensions=(".nii", ".nii.gz", ".gz", ".hdr", ".img", ".mgz", ".mgh", ".mnc", ".par", ".head"),
    magic=_magic,
    read=read_nifti,
    write=write_nifti,
    writes={"volume": (".nii.gz", ".nii")},
    saved_as={"NIfTI": ".nii.gz"},
    describe=describe,
    placement=_placement,
)
