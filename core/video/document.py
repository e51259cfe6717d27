"""`VideoDoc`: a video as a timeline of frames, read from its file in windows, never all at once.

The timeline is a list of `Slot`s, one per frame to show, each with its presentation time (`pts`, in
the source stream's time base) and either the index of the source frame shown there or nothing, in
which case the frame is a rebuilt one held in the document's `FrameStore`. Repairs return a new
document with a new timeline: a dropped frame becomes a new slot at its missing time, a duplicate keeps
its slot and time but points to a rebuilt frame. Untouched frames are decoded from the source again
when written, so they are never converted through RGB unless the codec requires it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Provenance
from core.video.source import VideoInfo, open_reader
from core.video.store import FrameStore


@dataclass(frozen=True)
class Slot:
    pts: int
    source: int | None  # the source frame shown here; None = a rebuilt frame from the store
    note: str = ""  # why it was rebuilt: "inserted", "duplicate", "damaged", a task name


@dataclass
class VideoDoc:
    info: VideoInfo
    slots: list[Slot]
    store: FrameStore = field(default_factory=FrameStore)
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: list[Provenance] = field(default_factory=list)

    kind = "video"

    @classmethod
    def from_info(cls, info: VideoInfo) -> VideoDoc:
        slots = [Slot(pts, index) for index, pts in enumerate(info.pts)]
        return cls(info=info, slots=slots, path=info.path, metadata={"tags": dict(info.tags)})

    @property
    def format(self) -> str:
        return self.info.container

    @property
    def frame_count(self) -> int:
        return len(self.slots)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames as written (a resizing repair changes it)."""
        for slot in self.slots:
            if slot.source is None:
                frame = self.store.get(slot.pts)
                return int(frame.shape[0]), int(frame.shape[1])
        return self.info.height, self.info.width

    @property
    def value_range(self) -> tuple[float, float]:
        return 0.0, 255.0

    def time(self, index: int) -> float:
        return self.info.time(self.slots[index].pts)

    @property
    def times(self) -> list[float]:
        return [self.info.time(s.pts) for s in self.slots]

    def rebuilt(self) -> list[int]:
        """Indices of the slots that show a rebuilt frame."""
        return [i for i, s in enumerate(self.slots) if s.source is None]

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray | None]]:
        """(slot index, uint8 RGB frame or None if it cannot be decoded), decoding sequentially."""
        stop = len(self.slots) if stop is None else min(stop, len(self.slots))
        sources = [s.source for s in self.slots[start:stop] if s.source is not None]
        decoded: Iterator[tuple[int, np.ndarray | None]] = iter(())
        reader = None
        if sources:
            reader = open_reader(self.info)
            decoded = reader.frames(min(sources), max(sources) + 1)
        pending: dict[int, np.ndarray | None] = {}
        try:
            for index in range(start, stop):
                slot = self.slots[index]
                if slot.source is None:
                    yield index, self.store.get(slot.pts)
                    continue
                while slot.source not in pending:
                    got, frame = next(decoded)
                    pending[got] = frame
                yield index, pending[slot.source]
                for old in [k for k in pending if k < slot.source]:
                    del pending[old]
        finally:
            if reader is not None:
                reader.close()

    def frame(self, index: int) -> np.ndarray | None:
        for _, frame in self.frames(index, index + 1):
            return frame
        return None

    def window(self, start: int, stop: int) -> list[np.ndarray | None]:
        return [frame for _, frame in self.frames(start, stop)]

    def with_timeline(self, slots: list[Slot], rebuilt: dict[int, np.ndarray]) -> VideoDoc:
        """A new document with `slots`; `rebuilt` maps the pts of each new slot to its frame."""
        clone = copy.copy(self)
        clone.store = self.store.copy()
        for pts, frame in rebuilt.items():
            clone.store.put(pts, frame)
        clone.slots = list(slots)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        return clone
