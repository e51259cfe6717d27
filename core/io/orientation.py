"""Which way the patient lies on screen: slices shown as radiologists read them, and the letters that
say so at each edge of the picture.

A slice is shown with its columns running towards the patient's left (in a sagittal slice, the back)
and its rows towards the back (or the feet): an axial slice with the patient's right on the left of
the screen and the front at the top, as DICOM usually stores it and DICOM viewers and 3D Slicer show
it. A NIfTI volume is mostly stored the other way round (RAS: the patient's right at the right, the
back at the top), so the view mirrors what needs it (`view_mirror`). Only the view: the document's
pixels, masks and every file written keep the source's own layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Per patient direction, the one a slice's columns or rows should run towards on screen.
SHOWN_TOWARDS = {"R": "L", "L": "L", "A": "P", "P": "P", "S": "I", "I": "I"}
OPPOSITE = {"R": "L", "L": "R", "A": "P", "P": "A", "S": "I", "I": "S"}
LPS_LETTERS = ("L", "P", "S")  # DICOM's patient axes, each named by the way it increases
RAS_TO_LPS = np.array([-1.0, -1.0, 1.0])


def letter_of(direction_lps: np.ndarray) -> str:
    """The patient direction ('L', 'R', 'P', 'A', 'S', 'I') a vector in LPS coordinates mostly points."""
    axis = int(np.argmax(np.abs(direction_lps)))
    letter = LPS_LETTERS[axis]
    return letter if direction_lps[axis] > 0 else OPPOSITE[letter]


def slice_axes(doc: Any) -> tuple[str, str] | None:
    """The patient directions (letters) in which a slice's column index and row index increase, or
    None where the file does not say (a photo, a scan without orientation)."""
    from core.io.dicom.header import DicomHeaders, plane_orientation
    from core.io.nifti import NiftiHeader

    writeback = getattr(doc, "writeback", None)
    if isinstance(writeback, NiftiHeader):  # voxel i is the column, j the row (core.io.nifti)
        ras = np.asarray(writeback.affine, float)[:3, :3]
        return letter_of(ras[:, 0] * RAS_TO_LPS), letter_of(ras[:, 1] * RAS_TO_LPS)
    if isinstance(writeback, DicomHeaders) and writeback.datasets:
        orientation = plane_orientation(writeback.datasets[0])
        if orientation is not None:
            return letter_of(orientation[:3]), letter_of(orientation[3:])
    return None


def view_mirror(doc: Any) -> tuple[bool, bool]:
    """Whether the view mirrors a slice left-right and top-bottom to show it as radiologists read it."""
    axes = slice_axes(doc)
    if axes is None:
        return False, False
    return axes[0] != SHOWN_TOWARDS[axes[0]], axes[1] != SHOWN_TOWARDS[axes[1]]


def screen_directions(doc: Any) -> dict[str, str] | None:
    """The patient direction at each edge of a slice as the view shows it ({'left': 'R', 'right': 'L',
    'top': 'A', 'bottom': 'P'}), or None where the file does not say."""
    axes = slice_axes(doc)
    if axes is None:
        return None
    mirror = view_mirror(doc)
    right = OPPOSITE[axes[0]] if mirror[0] else axes[0]
    bottom = OPPOSITE[axes[1]] if mirror[1] else axes[1]
    return {"left": OPPOSITE[right], "right": right, "top": OPPOSITE[bottom], "bottom": bottom}
