"""Where a DICOM volume's voxels lie in the patient, as other formats (NIfTI) hold it: one affine.

DICOM gives each slice its own position (ImagePositionPatient, the centre of its first pixel) and
orientation (ImageOrientationPatient: the directions along a row and down a column) in LPS patient
coordinates; NIfTI gives the whole volume one RAS affine from voxel (column, row, slice) to mm. The
affine here takes the first slice's position and orientation and the step from the first slice to the
last, so a gantry tilt becomes a shear, as dcm2niix writes it; slices that are not evenly spaced cannot
be held by one affine, and the note says so.
"""

from __future__ import annotations

import numpy as np

from core.io.dicom.header import DicomHeaders, optional_floats, plane_orientation, plane_position
from core.io.dicom.placement import even_step

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def patient_affine(headers: DicomHeaders) -> tuple[np.ndarray, tuple[int, int, int], str] | None:
    """(RAS affine of the source voxels, their shape (columns, rows, slices), note) for the source the
    headers describe; None where its files give no position, orientation or pixel spacing."""
    slices = max(len(headers.positions), 1)

    def header(k: int):  # a series: one file per slice; a multi-frame file: one header, frame k
        return (headers.datasets[k], 0) if len(headers.datasets) == slices else (headers.datasets[0], k)

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
        normal = np.cross(orientation[:3], orientation[3:])
        thickness = optional_floats(ds, frame, "PixelMeasuresSequence", "SliceThickness")
        affine[:3, 2] = normal * (thickness[0] if thickness and thickness[0] > 0 else 1.0)
    affine[:3, 3] = first
    affine[:3] = LPS_TO_RAS @ affine[:3]
    note = ""
    if slices > 2 and even_step(headers.positions) is None:
        steps = np.abs(np.diff(headers.positions))
        note = (
            f"NIfTI holds one slice spacing: the series' slices are {steps.min():.3g}–{steps.max():.3g} mm"
            f" apart, and are stored {float(np.linalg.norm(affine[:3, 2])):.3g} mm apart (first and last"
            " in place); keep the DICOM series for their true positions"
        )
    return affine, (columns, rows, slices), note
