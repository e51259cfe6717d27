"""DICOM through pydicom: single files, multi-frame objects and folders holding a series.

`header` opens files and reads values safely, `read` decodes one file into a VolumeDoc, `series`
scans a folder into series and reads one as a volume, `derive` writes a repaired scan as a new
derived instance, `describe` says what `lacuna info` shows.
"""

from __future__ import annotations

from pathlib import Path

from core.documents import VolumeDoc
from core.io.dicom.derive import provenance_of, write_dicom
from core.io.dicom.describe import describe, describe_object
from core.io.dicom.geometry import placement
from core.io.dicom.header import NotAnImageError, find_gaps, is_dicom, stored_limits
from core.io.dicom.read import read_dicom
from core.io.dicom.series import list_series, read_dicom_folder
from core.io.formats import FileFormat

EXTENSIONS = (".dcm", ".dicom", ".ima")


def read(path: Path) -> VolumeDoc:
    """A file, or the largest series of a folder."""
    if path.is_dir():
        return read_dicom_folder(path)
    try:
        return read_dicom(path)
    except NotAnImageError as exc:
        exc.details = describe_object(path)
        raise


FORMAT = FileFormat(
    name="dicom",
    title="scans: DICOM",
    extensions=EXTENSIONS,
    magic=lambda head: head[128:132] == b"DICM",
    read=read,
    write=write_dicom,
    # "": a series is written as a folder of files, or a single file named without extension
    writes={"volume": (*EXTENSIONS, "")},
    saved_as={"DICOM": ".dcm"},
    describe=describe,
    reads_folder=lambda folder: True,  # any other folder: a series is looked for
    probe=lambda path, head: is_dicom(path),
    header=lambda doc, frame: doc.writeback.for_frame(frame, doc.frames) if doc.writeback else None,
    placement=placement,
)

__all__ = [
    "FORMAT",
    "NotAnImageError",
    "find_gaps",
    "is_dicom",
    "list_series",
    "provenance_of",
    "read_dicom",
    "read_dicom_folder",
    "stored_limits",
    "write_dicom",
]
