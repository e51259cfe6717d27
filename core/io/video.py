"""The video format family: recognise, read and write video files and image-sequence folders.

The work is done in `core.video` (PyAV, an optional extra); this module is the registry's entry
(`FORMAT`), so a missing extra surfaces as one clear message only when a video is actually opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import WriteError
from core.io.formats import FileFormat, Written

VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".ogv", ".wmv"}
_NOT_VIDEO_BRANDS = (b"M4A ", b"M4B ", b"heic", b"heix", b"mif1", b"avif", b"msf1")


def _magic(head: bytes) -> bool:
    """ISO-BMFF (MP4/MOV), Matroska/WebM or AVI from the first bytes."""
    if head[4:8] == b"ftyp":
        return head[8:12] not in _NOT_VIDEO_BRANDS
    return head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")


def looks_like_video(head: bytes, path: Path) -> bool:
    """From the first bytes, else from the name."""
    return _magic(head) or path.suffix.lower() in VIDEO_EXTS


def is_sequence_folder(folder: Path) -> bool:
    from core.video.source import sequence_files

    return bool(sequence_files(folder))


def read_video(path: Path):
    from core.video.document import VideoDoc
    from core.video.source import probe, probe_sequence

    path = Path(path)
    info = probe_sequence(path) if path.is_dir() else probe(path)
    return VideoDoc.from_info(info)


def is_frame_folder(target: Path) -> bool:
    """A video written to a name without a suffix (or an existing folder) is one picture per frame."""
    return not target.suffix or target.is_dir()


def check_codec(target: Path, codec: str | None, doc=None) -> None:
    """Refuse, before anything runs, a --codec the target cannot take, or (given the video `doc`, for
    a repair that keeps its size) a codec its frame size cannot be encoded with."""
    if is_frame_folder(Path(target)):
        if codec:
            name = Path(target).name
            raise WriteError(f"{name}: frames in a folder take no codec; give a file name to encode")
        return
    from core.video.write import check_frame_size, pick_codec

    chosen = pick_codec(Path(target), codec)
    if doc is not None:
        check_frame_size(Path(target), chosen, doc.info.width, doc.info.height)


def write_video(doc, target: Path, codec: str | None = None, **options: Any) -> Written:
    target = Path(target)
    check_codec(target, codec)
    if is_frame_folder(target):  # one numbered picture per frame
        from core.video.write_sequence import write_sequence

        return write_sequence(doc, target, **options)
    from core.video.write import write_video as _write

    return _write(doc, target, codec=codec, **options)


def describe(doc, scan: bool = True) -> dict[str, Any]:
    from core.video.describe import describe_video

    return describe_video(doc, scan)


FORMAT = FileFormat(
    name="video",
    title="video: MP4, MOV, MKV, WebM, AVI or a folder of numbered frames",
    extensions=tuple(sorted(VIDEO_EXTS)),
    magic=_magic,
    read=read_video,
    write=write_video,
    writes={"video": (".mkv", ".mp4", ".mov", ".avi", ".webm", "")},  # "": a folder of numbered frames
    describe=describe,
    reads_folder=is_sequence_folder,
)
