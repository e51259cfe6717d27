"""What `lacuna info` says about a video: the stream, its timing and the damage a scan finds."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.video.damage import scan as find_damage
from core.video.damage import summary
from core.video.document import VideoDoc
from core.video.source import missing_frame_files
from core.video.write import provenance_from_tags

# Extensions FFmpeg's demuxers do not list by name ('matroska,webm' reads .mkv).
DEMUXER_OF = {"mkv": "matroska", "mka": "matroska", "m4v": "mp4", "qt": "mov"}
COLOR_RANGES = {0: "unspecified", 1: "limited (tv)", 2: "full (pc)"}
MISSING_SHOWN = 5  # missing frame files named before "..."
MATRICES = {0: "rgb", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc"}


def _variable(steps: np.ndarray) -> bool:
    """Frame steps that differ from the usual one by more than 5% (gaps of dropped frames aside)."""
    if steps.size < 2:
        return False
    usual = float(np.median(steps))
    regular = steps[steps < 1.5 * usual]
    return bool(np.any(np.abs(regular - usual) > max(2.0, 0.05 * usual)))


def container_name(demuxer: str, path: Any) -> str:
    """The container as its file says: 'mp4' for FFmpeg's demuxer 'mov,mp4,m4a,3gp,3g2,mj2', which
    names every format it reads; the demuxer's name when the file's extension is none of them; a
    folder of numbered frames as such."""
    if demuxer == "image2":
        return "numbered pictures (a film's frames)"
    names = demuxer.split(",")
    suffix = str(path or "").rsplit(".", 1)[-1].lower()
    known = suffix in names or DEMUXER_OF.get(suffix) in names
    return suffix if len(names) > 1 and known else demuxer


def describe_video(doc: VideoDoc, scan: bool = True) -> dict[str, Any]:
    info = doc.info
    steps = np.diff(info.pts) if info.frame_count > 1 else np.array([])
    result: dict[str, Any] = {
        "format": container_name(info.container, info.path),
        "codec": info.codec,
        "pixel_format": info.pix_fmt,
        "width": info.width,
        "height": info.height,
        "frames": info.frame_count,
        "duration": round(
            info.time(info.pts[-1] - info.pts[0]) + float(1 / info.rate if info.rate else 0), 6
        ),
        "frame_rate": round(float(info.rate), 6) if info.rate else None,
        "time_base": str(info.time_base),
        "variable_frame_rate": _variable(steps),
        "rotation": info.rotation,
        "color_range": COLOR_RANGES.get(info.color_range, str(info.color_range)),
        "color_matrix": MATRICES.get(info.colorspace, str(info.colorspace)),
        "bit_depth": info.bit_depth,
        "audio": None
        if info.audio is None
        else f"{info.audio.codec}, {info.audio.sample_rate} Hz, {info.audio.channels} channel(s)",
    }
    if info.sequence:
        result["sequence_files"] = len(info.sequence)
        missing = missing_frame_files(info.sequence)
        if missing:  # a film editor looks for the file, not for "dropped after frame 3"
            shown = ", ".join(missing[:MISSING_SHOWN]) + (" ..." if len(missing) > MISSING_SHOWN else "")
            result["missing_files"] = f"{len(missing)}: {shown}"
    steps_recorded = provenance_from_tags(info.tags)
    if steps_recorded:
        result["lacuna_provenance"] = steps_recorded
    if scan:
        damage = find_damage(doc)
        result["damage"] = [d.as_dict() for d in damage]
        result["damage_summary"] = summary(damage)
    return result
