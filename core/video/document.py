"""`VideoDoc`: a video as a timeline of frames, read from its file in windows, never all at once.

The timeline is a list of `Slot`s, one per frame to show, each with its presentation time (`pts`, in
the source stream's time base) and either the index of the source frame shown there or nothing, in
which case the frame is a rebuilt one. Repairs return a new document with a new timeline: a dropped
frame becomes a new slot at its missing time, a duplicate keeps its slot and time but points to a
rebuilt frame. Untouched frames are decoded from the source again when written, so they are never
converted through RGB unless the codec requires it.

Rebuilt frames are either held in the document's `FrameStore` or still `Pending`: every video repair
(an image method over a range, fill-frames, dust, flicker, retime) only plans, and its frames are
computed in timeline order while the document is walked, each from the few frames around it.
Writing walks it once, so a long clip streams from the decoder through the repair into the encoder,
a window of frames at a time; `compute()` fills the store instead, for a document that is looked at
frame by frame (the desktop).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Provenance
from core.errors import MethodError
from core.runtime.context import Progress, drive
from core.video.source import VideoInfo, open_reader
from core.video.store import FrameStore


@dataclass(frozen=True)
class Slot:
    pts: int
    source: int | None  # the source frame shown here; None = a rebuilt frame from the store
    note: str = ""  # why it was rebuilt: "inserted", "duplicate", "damaged", a task name


@dataclass(frozen=True)
class Pending:
    """Rebuilt frames not computed yet. `make()` starts a generator that decodes what it needs and
    yields (pts, uint8 RGB frame) for every pts in `pts`, in timeline order, with `Progress` between."""

    pts: frozenset[int]
    make: Callable[[], Generator[Progress | tuple[int, np.ndarray], None, None]]


@dataclass
class VideoDoc:
    info: VideoInfo
    slots: list[Slot]
    store: FrameStore = field(default_factory=FrameStore)
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: list[Provenance] = field(default_factory=list)
    pending: Pending | None = None

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
        """(slot index, uint8 RGB frame or None if it cannot be decoded), decoding sequentially.

        Pending frames are computed into the store first (reading a range needs them at hand)."""
        if self.pending is not None:
            drive(self.compute())
        yield from self.walk(start, stop)

    def walk(
        self,
        start: int = 0,
        stop: int | None = None,
        raw: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Iterator[tuple[int, Any]]:
        """(slot index, frame) in timeline order. Source frames are decoded (FFmpeg's own frames with
        `raw`, else uint8 RGB; None when undecodable); rebuilt ones are uint8 RGB from the store, or
        computed now by the pending repair, whose reports go to `on_progress`. A walk over a pending
        document must start at its first slot (its frames come in timeline order)."""
        stop = len(self.slots) if stop is None else min(stop, len(self.slots))
        if self.pending is not None and start > 0:
            raise ValueError("a pending repair is walked from the first frame")
        sources = [s.source for s in self.slots[start:stop] if s.source is not None]
        shown = set(sources)
        decoded: Iterator[tuple[int, Any]] = iter(())
        reader = None
        if sources:
            reader = open_reader(self.info)
            decoded = reader.frames(min(sources), max(sources) + 1, raw=raw)
        rebuilding = _Rebuilding(self, on_progress)
        pending: dict[int, Any] = {}
        try:
            for index in range(start, stop):
                slot = self.slots[index]
                if slot.source is None:
                    yield index, rebuilding.frame(slot.pts)
                    continue
                while slot.source not in pending:
                    got, frame = next(decoded)
                    if got in shown:  # a frame no slot shows (one a repair replaced) is not held
                        pending[got] = frame
                yield index, pending[slot.source]
                for old in [k for k in pending if k < slot.source]:
                    del pending[old]
        finally:
            rebuilding.close()
            if reader is not None:
                reader.close()

    def compute(self) -> Generator[Progress, None, VideoDoc]:
        """Compute the pending frames into the store (with progress; cancel by closing); returns self."""
        if self.pending is None:
            return self
        work = self.pending.make()
        try:
            for item in work:
                if isinstance(item, Progress):
                    yield item
                else:
                    self.store.put(*item)
        finally:
            work.close()
        self.pending = None
        return self

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
        clone.pending = None
        return clone

    def with_pending(self, slots: list[Slot], pending: Pending) -> VideoDoc:
        """A new document with `slots` whose rebuilt frames at `pending.pts` are computed when walked."""
        clone = self.with_timeline(slots, {})
        for pts in pending.pts:
            clone.store.discard(pts)
        clone.pending = pending
        return clone


class _Rebuilding:
    """The rebuilt frames of one walk: from the store, or pulled in order from the pending repair."""

    def __init__(self, doc: VideoDoc, on_progress: Callable[[Progress], None] | None):
        self.doc = doc
        self.on_progress = on_progress
        self.work = doc.pending.make() if doc.pending is not None else None
        self.ahead: dict[int, np.ndarray] = {}

    def frame(self, pts: int) -> np.ndarray:
        if self.work is None or pts not in self.doc.pending.pts:
            return self.doc.store.get(pts)
        while pts not in self.ahead:
            item = next(self.work, None)
            if item is None:
                raise MethodError(f"the frame at {self.doc.info.time(pts):.3f} s could not be rebuilt")
            if isinstance(item, Progress):
                if self.on_progress is not None:
                    self.on_progress(item)
            else:
                self.ahead[item[0]] = item[1]
        return self.ahead.pop(pts)

    def close(self) -> None:
        if self.work is not None:
            self.work.close()
