"""Choose a reader or writer from a file's first bytes (or its name), and turn every failure into a
`core.errors` exception whose one-line message names the file and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.documents import AudioDoc, Document, ImageDoc, VolumeDoc
from core.errors import LacunaError, ReadError, UnsupportedFormatError, WriteError, reason
from core.io.atomic import allow_replace, check_folder, full_suffix, resolve_target
from core.io.video import is_sequence_folder, looks_like_video

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
DICOM_EXTS = {".dcm", ".dicom", ".ima"}
NIFTI_EXTS = {".nii", ".nii.gz", ".hdr", ".img", ".mgz", ".mgh", ".mnc", ".par", ".head"}
AUDIO_EXTS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".w64", ".rf64", ".caf", ".au"}


def sniff(path: Path) -> str:
    """'image', 'dicom', 'nifti', 'audio' or '' from the magic bytes, falling back to the name."""
    with open(path, "rb") as fh:
        head = fh.read(352)
    if head[128:132] == b"DICM":  # first: a DICOM preamble may itself look like a TIFF header
        return "dicom"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff" or head[:2] == b"BM":
        return "image"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") or head[:6] in (b"GIF87a", b"GIF89a"):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if looks_like_video(head, path):
        return "video"
    if head[:4] in (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"riff") or head[:3] == b"ID3":
        return "audio"
    if head[344:348] in (b"n+1\x00", b"ni1\x00") or head[4:8] in (b"n+2\x00", b"ni2\x00"):
        return "nifti"
    ext = full_suffix(path).lower()
    if ext == ".gz" or path.name.lower().endswith(".nii.gz"):
        return "nifti"
    for kind, exts in (
        ("image", IMAGE_EXTS),
        ("dicom", DICOM_EXTS),
        ("nifti", NIFTI_EXTS),
        ("audio", AUDIO_EXTS),
    ):
        if ext in exts:
            return kind
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio"  # an MPEG audio frame sync
    if _looks_like_headerless_dicom(path):
        return "dicom"
    return ""


def _looks_like_headerless_dicom(path: Path) -> bool:
    from core.io.dicom import is_dicom

    return is_dicom(path)


def read_any(path: Path) -> Document:
    from core.io.quiet import quiet_libraries

    path = Path(path)
    try:
        with quiet_libraries():
            return _read(path)
    except LacunaError:
        raise
    except MemoryError as exc:
        raise ReadError(f"{path.name}: not enough memory to read it") from exc
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear line
        raise ReadError(f"{path.name}: cannot read it ({type(exc).__name__}: {reason(exc)})") from exc


def _read(path: Path) -> Document:
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder")
    if path.is_dir() and is_sequence_folder(path):
        from core.io.video import read_video

        return read_video(path)
    if path.is_dir():
        from core.io.dicom import read_dicom_folder

        return read_dicom_folder(path)
    if path.stat().st_size == 0:
        raise ReadError(f"{path.name}: the file is empty")
    try:
        kind = sniff(path)
    except OSError as exc:
        raise ReadError(f"{path.name}: cannot open it ({exc.strerror or exc})") from exc
    if kind == "image":
        from core.io.images import read_image

        return read_image(path)
    if kind == "dicom":
        from core.io.dicom import read_dicom

        return read_dicom(path)
    if kind == "nifti":
        from core.io.nifti import read_nifti

        return read_nifti(path)
    if kind == "audio":
        from core.io.audio import read_audio

        return read_audio(path)
    if kind == "video":
        from core.io.video import read_video

        return read_video(path)
    raise UnsupportedFormatError(
        f"{path.name}: not a file Lacuna reads (images: PNG, JPEG, TIFF, BMP, WebP; scans: DICOM, NIfTI;"
        " audio: WAV, FLAC, Ogg, MP3;"
        " video: MP4, MOV, MKV, WebM, AVI or a folder of numbered frames)"
    )


def check_target(
    doc: Document,
    path: Path,
    overwrite: bool = False,
    overwrite_policy: str = "refuse",
    sidecar: bool = True,
) -> Path:
    """Where `doc` would be written, checked without writing anything: the overwrite rules (never the
    source; an existing output or its sidecar only with `overwrite`) and the folder (it exists and can be
    written). `lacuna repair` calls it before computing; `write_any` again before writing."""
    target = resolve_target(Path(path), doc.path, overwrite, overwrite_policy, sidecar=sidecar)
    check_folder(target)
    return target


def write_any(
    doc: Document,
    path: Path,
    overwrite: bool = False,
    overwrite_policy: str = "refuse",
    sidecar: bool = True,
    **options: Any,
) -> Path:
    """Write `doc` to `path` (format from the extension); returns the path actually written.

    Never writes over the document's source; refuses an existing file unless `overwrite=True`, or
    picks "name (2).ext" with `overwrite_policy="rename"`. Provenance goes into the file where the
    format has room and always into `<output>.lacuna.json`.
    """
    from core.io import provenance

    target = check_target(doc, path, overwrite, overwrite_policy, sidecar)
    try:
        with allow_replace(overwrite):  # else the file is created exclusively: a racing writer fails
            written = _write(doc, target, options)
    except LacunaError:
        raise
    except MemoryError as exc:
        raise WriteError(f"{target.name}: not enough memory to write it") from exc
    except Exception as exc:  # noqa: BLE001
        raise WriteError(f"{target.name}: cannot write it ({type(exc).__name__}: {reason(exc)})") from exc
    notes = doc.metadata.pop("write_notes", None)  # what a format could not hold, set by writers
    if sidecar:
        with allow_replace(overwrite):
            provenance.write_sidecar(doc, written, notes)
    return written


def _write(doc: Document, target: Path, options: dict[str, Any]) -> Path:
    ext = full_suffix(target).lower()
    if doc.kind == "video":
        from core.io.video import write_video

        return write_video(doc, target, **options)
    if isinstance(doc, AudioDoc):
        from core.io.audio import write_audio

        return write_audio(doc, target, **options)
    if isinstance(doc, VolumeDoc):
        if ext in (".nii", ".nii.gz"):
            from core.io.nifti import write_nifti

            return write_nifti(doc, target, **options)
        if ext in DICOM_EXTS or ext == "" or target.is_dir():
            from core.io.dicom import write_dicom

            return write_dicom(doc, target, **options)
        if ext in (".tif", ".tiff"):
            from core.io.images import write_image

            image = ImageDoc(
                pixels=doc.pixels,
                path=doc.path,
                format="TIFF",
                dtype="float32",
                mode="L" if doc.pixels.shape[-1] == 1 else "RGB",
                provenance=doc.provenance,
            )
            return write_image(image, target, **options)
        raise WriteError(f"{target.name}: a scan is saved as .dcm, .nii, .nii.gz or .tif (float), not {ext}")
    if isinstance(doc, ImageDoc):
        from core.io.images import write_image

        return write_image(doc, target, **options)
    raise WriteError(f"{target.name}: cannot write a {type(doc).__name__}")
