"""Write a `VideoDoc` as a folder of numbered frames: a film scan in, a film scan out.

`lacuna repair film/ -o film_clean/` writes one picture per frame into `film_clean/`. A frame the
repair did not touch is its source file copied byte for byte (a 16-bit TIFF or a DPX stays what it
was); a rebuilt or repaired frame is written as the source's picture type where Lacuna writes it
(PNG, TIFF), else PNG, 8-bit RGB as repairs make them. Frames are named as the source numbers them
(`100.png`, `102.png`, ...: a dropped frame put back gets the number it was missing); a clip read from
a video file gives `frame_000000.png` on. The folder appears whole or not at all.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import WriteError
from core.io.atomic import atomic_folder
from core.io.formats import Written
from core.runtime.context import Progress
from core.video.document import VideoDoc
from core.video.source import numbering_step, to_rgb

WRITTEN_TYPES = (".png", ".tif", ".tiff")  # picture types a repaired frame is written as


def write_sequence(
    doc: VideoDoc, target: Path, on_progress: Callable[[Progress], None] | None = None, **_: Any
) -> Written:
    from PIL import Image

    info = doc.info
    name_of, suffix = _naming(info.sequence, _ticks_per_frame(info), [slot.pts for slot in doc.slots])
    total = doc.frame_count
    copied = 0
    with atomic_folder(Path(target)) as folder:
        for index, frame in doc.walk(raw=True):
            slot = doc.slots[index]
            if on_progress is not None:
                on_progress(Progress((index + 1) / total, f"frame {index + 1}/{total}"))
            if frame is None:
                raise WriteError(f"frame {slot.source} of the source cannot be decoded; repair it first")
            name = name_of(index, slot.pts)
            untouched = slot.source is not None and not isinstance(frame, np.ndarray)  # as decoded
            if untouched and info.sequence:  # the scan's own file, byte for byte
                source = info.sequence[slot.source]
                shutil.copyfile(source, folder / f"{name}{source.suffix}")
                copied += 1
                continue
            rgb = frame if isinstance(frame, np.ndarray) else to_rgb(frame)
            Image.fromarray(rgb).save(folder / f"{name}{suffix}")
    note = f"{total} frames: {copied} copied as they were, {total - copied} written as {suffix}"
    return Written(Path(target), (note,))


def frame_names(doc: VideoDoc) -> Callable[[int, int], str]:
    """The file name (without suffix) of the frame at (slot index, pts) of `doc`, a clip read from
    an image sequence."""
    return _naming(doc.info.sequence, _ticks_per_frame(doc.info), [slot.pts for slot in doc.slots])[0]


def _ticks_per_frame(info) -> int:
    return max(1, round(1 / (info.rate * info.time_base))) if info.rate else 1


def _naming(files: tuple[Path, ...], ticks: int, times: list[int]) -> tuple[Callable[[int, int], str], str]:
    """(the file name, without suffix, of the frame at (slot index, pts); the suffix of a written
    frame): numbered as the source's files where every frame lies on their grid of `ticks` per
    frame, else (a retimed clip) by place in the clip."""
    suffix = files[0].suffix.lower() if files and files[0].suffix.lower() in WRITTEN_TYPES else ".png"
    numbered = [(m.start(), m.end(), int(m.group())) for m in (_last_number(p.stem) for p in files)]
    step = numbering_step([n for _, _, n in numbered]) if files else None  # as the reader counts
    if step is None or any(t % ticks for t in times):
        return (lambda index, pts: f"frame_{index:06d}"), suffix
    start, end, first = numbered[0]
    stem = files[0].stem
    prefix, after, width = stem[:start], stem[end:], end - start
    return (lambda index, pts: f"{prefix}{first + pts // ticks * step:0{width}d}{after}"), suffix


def _last_number(stem: str) -> re.Match:
    *_, last = re.finditer(r"\d+", stem)  # the reader only takes names holding a number
    return last
