"""Writing a repaired scan as a new derived DICOM instance (never the original).

- New SOPInstanceUID and SeriesInstanceUID; ImageType DERIVED\\SECONDARY; DerivationDescription and
  ImageComments name the method; SourceImageSequence points at the original instance; a
  ContributingEquipmentSequence item names Lacuna; patient and study modules are kept as they were.
- Values go back through the inverse modality LUT, are rounded and clipped to what BitsStored and
  PixelRepresentation can hold, and are written uncompressed (Explicit VR Little Endian).
- The layout follows the source: a single (possibly multi-frame) file is written as one file; a
  series read from a folder is written as a folder with one file per slice (0001.dcm, 0002.dcm, ...).
- The pixels the repairs changed are marked in an overlay plane (core.io.dicom.overlay).
- A different matrix size (upscaling) updates Rows/Columns and PixelSpacing from `VolumeDoc.spacing`.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import VolumeDoc
from core.errors import WriteError
from core.io import provenance
from core.io.atomic import atomic_folder, atomic_write
from core.io.dicom import overlay
from core.io.dicom.header import (
    PIXEL_KEYWORDS,
    PRIVATE_CREATOR,
    PRIVATE_GROUP,
    DicomHeaders,
    instance_number,
    open_dataset,
    private_record,
    quiet,
    rescale_pairs,
    stored_limits,
)
from core.io.dicom.placement import Placement, even_step, place_frames, place_slice, placements
from core.io.formats import Written
from core.version import __version__


def write_dicom(doc: VolumeDoc, target: Path, **options: Any) -> Written:
    if not isinstance(doc.writeback, DicomHeaders):
        raise WriteError(
            f"{target.name}: only scans read from DICOM can be saved as DICOM "
            "(save NIfTI volumes as .nii or .nii.gz)"
        )
    pixels = np.asarray(doc.pixels, dtype=np.float32)
    if pixels.ndim != 4:
        raise WriteError(f"{target.name}: cannot save pixels of shape {pixels.shape} as DICOM")
    with quiet():
        return Written(_write_dicom(doc, target, pixels))


def _write_dicom(doc: VolumeDoc, target: Path, pixels: np.ndarray) -> Path:
    headers: DicomHeaders = doc.writeback
    series_uid = _new_uid()
    if len(headers.datasets) == 1:
        # the source's own number: a viewer keeps repaired single slices in their order (a walk-through
        # saw slice 21 come back as 1)
        instance = instance_number(headers.datasets[0])
        instance = instance if 0 < instance < 2**31 else 1  # IS holds 32 bits; a broken number is not kept
        ds = _derive(doc, headers.datasets[0], pixels, list(range(pixels.shape[0])), series_uid, instance)
        return atomic_write(target, lambda tmp: _save(ds, tmp))
    if target.suffix.lower() in (".dcm", ".dicom", ".ima"):
        raise WriteError(f"{target.name}: a series is saved as a folder of files; name a folder, not a file")
    placed = _placements(doc, pixels.shape[0])
    thickness = doc.metadata.get("made_slice_thickness")  # set by a thinning that sharpened (fill-slice-self)
    names = _file_names(doc, placed)
    with atomic_folder(target) as tmp_folder:
        for i, where in enumerate(placed):
            ds = _derive(doc, headers.datasets[where.template], pixels[i : i + 1], [i], series_uid, i + 1)
            if where.inserted:
                place_slice(ds, headers.datasets, headers.positions, where)
                _move_first_pixel(ds, headers.datasets[where.template])  # placed from the source's
                _mark_inserted(ds, [headers.datasets[j] for j in where.between])
                if thickness:
                    ds.SliceThickness = f"{float(thickness):.6g}"
            _save(ds, tmp_folder / names[i])
    return target


def _file_names(doc: VolumeDoc, placed: list[Placement]) -> list[str]:
    """A repaired series keeps its files' own names, slice for slice (01.dcm stays 01.dcm: a viewer's
    or a script's reference to a slice still holds); a series with slices inserted, or read from
    files whose names clash, is numbered 0001.dcm ... in slice order."""
    names = [Path(f).name for f in doc.metadata.get("source_files") or []]
    if len(names) == len(placed) and len({n.lower() for n in names}) == len(names):
        if not any(where.inserted for where in placed):
            return names
    return [f"{i + 1:04d}.dcm" for i in range(len(placed))]


def _new_uid() -> str:
    from pydicom.uid import generate_uid

    return generate_uid()


def _placements(doc: VolumeDoc, frames: int) -> list[Placement]:
    """Where each output slice goes among the source's (by position along the normal where known)."""
    headers: DicomHeaders = doc.writeback
    n = len(headers.datasets)
    if frames == n:
        return [Placement(i, 0.0) for i in range(n)]
    if len(doc.positions) == frames and len(headers.positions) == n:
        return placements(doc.positions, headers.positions)
    return [Placement(min(n - 1, int(round(i * (n - 1) / max(frames - 1, 1)))), 0.0) for i in range(frames)]


def _mark_inserted(ds, neighbours: list) -> None:
    """An inserted slice says so, and names the acquired slices it was made from."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    refs = []
    for src in neighbours:
        if "SOPClassUID" in src and "SOPInstanceUID" in src:
            ref = Dataset()
            ref.ReferencedSOPClassUID = src.SOPClassUID
            ref.ReferencedSOPInstanceUID = src.SOPInstanceUID
            refs.append(ref)
    if refs:
        ds.SourceImageSequence = Sequence(refs)
    note = " This slice was inserted between acquired slices: all of it is reconstructed, not acquired."
    ds.ImageComments = (str(ds.get("ImageComments", "")) + note)[:10240]
    _drop_others_private_tags(ds)


def _drop_others_private_tags(ds) -> None:
    """Private tags describe the acquisition of the slice they came with (a GE file's slice location
    among them): an inserted slice copied its neighbour's, which a walk-through read as the wrong
    place. Lacuna's own block (its record of the repair) stays."""
    ours = {
        (elem.tag.group, elem.tag.element)
        for elem in ds
        if elem.tag.is_private_creator and elem.value == PRIVATE_CREATOR
    }
    for tag in [elem.tag for elem in ds if elem.tag.is_private]:
        block = tag.element if tag.is_private_creator else tag.element >> 8
        if (tag.group, block) not in ours:
            del ds[tag]


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
    # Set on `ds` itself, not through the block: when the source's own record was read, pydicom cached
    # that block on the source, the deep copy still points there, and the old record would be saved.
    ds.add_new(ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True).get_tag(0x01), "UT", record)

    # geometry
    size_changed = (rows, cols) != (int(src.get("Rows", rows)), int(src.get("Columns", cols)))
    ds.Rows, ds.Columns = rows, cols
    if size_changed:
        _update_spacing(ds, doc.spacing[1], doc.spacing[2])
    if "NumberOfFrames" in src or frames > 1:
        ds.NumberOfFrames = frames
        _fit_per_frame_groups(ds, src, doc, frames)
    if size_changed:
        _move_first_pixel(ds, src)
    _set_spacing_between(ds, src, doc)

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
        for k, (slope, intercept) in enumerate(rescale_pairs(ds, frames)):
            out[k] = _to_stored(pixels[k, ..., 0], slope, intercept, lo, hi)
        data = out.tobytes()
        if "ModalityLUTSequence" in ds:  # a table cannot be inverted: the values are stored as they are
            del ds["ModalityLUTSequence"]
    if len(data) % 2:
        data += b"\x00"
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) <= 8 else "OW"
    if doc.changed is not None and doc.changed.shape[1:] == pixels.shape[1:3]:
        overlay.mark_changed(ds, doc.changed[frame_ids])

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


def _move_first_pixel(ds, src) -> None:
    """An enlarged slice covers the same area with smaller pixels, so its first pixel's centre lies
    nearer the corner than the old first pixel's (a quarter of an old pixel at twice the size, as the
    NIfTI writer's affine has it): ImagePositionPatient, and each frame's of an enhanced object whose
    spacing and orientation are shared by its frames. Nothing moves where the spacing did not change."""
    orientation = _shared_value(src, "ImageOrientationPatient", "PlaneOrientationSequence")
    old = _shared_value(src, "PixelSpacing", "PixelMeasuresSequence")
    new = _shared_value(ds, "PixelSpacing", "PixelMeasuresSequence")
    if orientation is None or len(orientation) != 6 or old is None or new is None:
        return
    row_dir, col_dir = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    # PixelSpacing is (between rows, between columns); a row runs along the first direction
    shift = row_dir * (float(new[1]) - float(old[1])) / 2 + col_dir * (float(new[0]) - float(old[0])) / 2

    def move(item) -> None:
        if len(item.get("ImagePositionPatient") or []) == 3:
            at = np.asarray(item.ImagePositionPatient, float) + shift
            item.ImagePositionPatient = [f"{v:.10g}" for v in at]

    move(ds)
    for group in ds.get("PerFrameFunctionalGroupsSequence", []):
        for position in group.get("PlanePositionSequence", []):
            move(position)


def _shared_value(ds, keyword: str, sequence: str):
    """`keyword` at the top level of `ds`, or in its shared functional groups' `sequence` (enhanced)."""
    if keyword in ds:
        return ds.get(keyword)
    for group in ds.get("SharedFunctionalGroupsSequence", []):
        for item in group.get(sequence, []):
            if keyword in item:
                return item.get(keyword)
    return None


def _fit_per_frame_groups(ds, src, doc: VolumeDoc, frames: int) -> None:
    groups = ds.get("PerFrameFunctionalGroupsSequence")
    if groups is None or len(groups) == frames:
        return
    from pydicom.sequence import Sequence

    n = len(groups)
    source_positions = doc.writeback.positions
    if len(doc.positions) == frames and len(source_positions) == n:  # placed by position (thinner slices)
        place_frames(ds, src, placements(doc.positions, source_positions))
        return
    picks = [min(n - 1, int(round(i * (n - 1) / max(frames - 1, 1)))) for i in range(frames)]
    ds.PerFrameFunctionalGroupsSequence = Sequence([copy.deepcopy(groups[i]) for i in picks])


def _set_spacing_between(ds, src, doc: VolumeDoc) -> None:
    """SpacingBetweenSlices for a scan with other slices than its source's: the new spacing where it is
    even, none where it is not (a wrong value would mislead a viewer's reformatting)."""
    source_positions = doc.writeback.positions
    if len(doc.positions) < 2 or len(doc.positions) == len(source_positions):
        return
    step = even_step(doc.positions)
    if step is not None:
        ds.SpacingBetweenSlices = f"{step:.6g}"
    elif "SpacingBetweenSlices" in ds:
        del ds["SpacingBetweenSlices"]


def _save(ds, path: Path) -> None:
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)


def provenance_of(path: Path) -> dict[str, Any] | None:
    """The Lacuna record stored in a derived file's private block, if any."""
    with quiet():
        ds = open_dataset(path, stop_before_pixels=True)
    text = private_record(ds)
    return json.loads(text) if text else None
