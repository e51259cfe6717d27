"""Where a DICOM volume's voxels lie in the patient, as other formats (NIfTI) hold it: one affine.

DICOM gives each slice its own position (ImagePositionPatient, the centre of its first pixel) and
orientation (ImageOrientationPatient: the directions along a row and down a column) in LPS patient
coordinates; NIfTI gives the whole volume one RAS affine from voxel (column, row, slice) to mm. The
affine here takes the first slice's position and orientation and the step from the first slice to the
last, so a gantry tilt becomes a shear, as dcm2niix writes it. Slices that are not evenly spaced
cannot be held by one affine (the NIfTI writer says so).
"""

from __future__ import annotations

import numpy as np

from core.io.dicom.header import DicomHeaders, optional_floats, plane_orientation, plane_position

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def patient_affine(
    headers: DicomHeaders, slices: int, slice_mm: float
) -> tuple[np.ndarray, tuple[int, int, int]] | None:
    """(RAS affine of the source's voxels, their shape (columns, rows, slices)) for a source of
    `slices` slices (`slice_mm` apart where it has one); None where its files do not say where each
    slice lies (no position, orientation or pixel spacing; a multi-frame file without per-frame
    positions; a series of multi-frame files)."""
    datasets, positions = headers.datasets, headers.positions
    if slices > 1 and (len(positions) != slices or len(datasets) not in (1, slices)):
        return None

    def header(k: int):  # a series: one file per slice; a multi-frame file: one header, frame k
        return (datasets[k], 0) if len(datasets) == slices else (datasets[0], k)

    ds, frame = header(0)
    orientation = plane_orientation(ds, frame)
    first, last = plane_position(ds, frame), plane_position(*header(slices - 1))
    spacing = optional_floats(ds, frame, "PixelMeasuresSequence", "PixelSpacing")
    rows, columns = int(getattr(ds, "Rows", 0) or 0), int(getattr(ds, "Columns", 0) or 0)
    if orientation is None or first is None or last is None or len(spacing) != 2 or not rows * columns:
        return None
    affine = np.eye(4)
    affine[:3, 0] = orientation[:3] * spacing[1]  # along a row: from column to column
    affine[:3, 1] = orientation[3:] * spacing[0]  # down a column: from row to row
    if slices > 1:
        affine[:3, 2] = (last - first) / (slices - 1)
    else:
        affine[:3, 2] = np.cross(orientation[:3], orientation[3:]) * slice_mm
    affine[:3, 3] = first
    affine[:3] = LPS_TO_RAS @ affine[:3]
    return affine, (columns, rows, slices)


def placement(doc) -> tuple[np.ndarray, tuple[int, int, int]] | None:
    """A DICOM volume's `patient_affine` over the slices its files held (its FileFormat.placement)."""
    if not isinstance(doc.writeback, DicomHeaders):
        return None
    source_slices = sum(doc.metadata.get("frames_per_dataset") or [doc.slices])
    return patient_affine(doc.writeback, source_slices, float(doc.spacing[0]))
