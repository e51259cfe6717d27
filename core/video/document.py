"""`VideoDoc`: a video as a timeline of frames, read from its file in windows, never all at once.

The timeline is a list of `Slot`s, one per frame to show, each with its presentation time (`pts`, in
the source stream's time base) and either the index of the source frame shown there or nothing, in
which case the frame is a rebuilt one. Repairs return a new document with a new timeline: a dropped
frame becomes a new slot at its missing time, a duplicate keeps its slot and time but points to a
rebuilt frame. Untouched frames are decoded from the source again when written, so they are never
converted through RGB unless the codec requires it.

Rebuilt frames are either held in the document's `FrameStore` or still `Pending`: every video repair
(an image method over a range, fill-frames, dust, flicker, retime) only plans, and its frames are
computed in timeline order while the document is walked, each from the few frames around it, and
only those of the part walked: writing walks the whole timeline once, so a long clip streams from
the decoder through the repair into the encoder, a window of frames at a time; `frame(i)` makes that
one frame alone (the desktop's preview). A repair on a document that is still pending keeps the
earlier repair's frames pending too (the two makers are merged in timeline order). A repair may find
that it leaves a frame as it was (dust removal on a frame without dust): that slot keeps its source
frame, which is then written from the decoder untouched. `compute()` fills the store instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Provenance
from core.errors import MethodError
from core.runtime.context import Progress
from core.video.source import VideoInfo, open_reader
from core.video.store import FrameStore


@dataclass(frozen=True)
class Slot:
    pts: int
    source: int | None  # the source frame shown here; None = a rebuilt frame from the store
    note: str = ""  # why it was rebuilt: "inserted", "duplicate", "damaged", a task name
    replaces: int | None = None  # the source frame a rebuilt one repairs in place (same time)

    @property
    def identity(self) -> tuple[str, int]:
        """What the slot shows wherever it is in time: the source frame it shows or repairs in place,
        or (a frame inserted between) its time."""
        frame = self.source if self.source is not None else self.replaces
        return ("source", frame) if frame is not None else ("at", self.pts)

    def repaired(self, note: str) -> Slot:
        """This slot showing a rebuilt frame made from the frame it shows now (a repair in place)."""
        return Slot(self.pts, None, note, self.source if self.source is not None else self.replaces)


@dataclass(frozen=True)
class Remade:
    """A rebuilt frame (uint8 RGB) shown where a source frame was, with that source frame as
    decoded (FFmpeg's own, None if undecodable): what a raw walk yields, so that the writer keeps
    the source's own samples wherever the repair left the picture as it was."""

    rgb: np.ndarray
    original: Any


Made = Generator[Progress | tuple[int, np.ndarray | None], None, None]


@dataclass(frozen=True)
class Pending:
    """Rebuilt frames not computed yet. `make(wanted)` (a subset of `pts`) starts a generator that
    decodes what it needs and yields (pts, frame) for every pts in `wanted`, in timeline order, with
    `Progress` between. The frame is uint8 RGB, or None where the repair left the frame as it was: the
    slot then shows its source frame (a pending slot with a source may only be left so)."""

    pts: frozenset[int]
    make: Callable[[frozenset[int]], Made]

    def only(self, keep: set[int]) -> Pending | None:
        """The same repair for the frames at `keep` only (None when none is left)."""
        kept = self.pts & frozenset(keep)
        return Pending(kept, self.make) if kept else None

    def moved(self, moves: dict[int, int]) -> Pending:
        """The same repair with its frames at new times (`moves`: old pts -> new pts; others stay)."""
        back = {new: old for old, new in moves.items()}
        make = self.make

        def made_at_new_times(wanted: frozenset[int]) -> Made:
            for item in make(frozenset(back.get(p, p) for p in wanted)):
                yield item if isinstance(item, Progress) else (moves.get(item[0], item[0]), item[1])

        return Pending(frozenset(moves.get(p, p) for p in self.pts), made_at_new_times)

    def merged(self, later: Pending) -> Pending:
        """This repair's frames and `later`'s (another repair, of other frames) as one."""

        def make(wanted: frozenset[int]) -> Made:
            streams = [p.make(wanted & p.pts) for p in (self, later) if wanted & p.pts]
            return _in_time_order(streams)

        return Pending(self.pts | later.pts, make)


@dataclass
class VideoDoc:
    info: VideoInfo
    slots: list[Slot]
    store: FrameStore = field(default_factory=FrameStore)
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: list[Provenance] = field(default_factory=list)
    pending: Pending | None = None
    # the pts of the frames the latest repair made or may make (what "N frames repaired" counts:
    # frames an earlier repair rebuilt are rebuilt or pending too)
    last_step: frozenset[int] = frozenset()

    kind = "video"

    @classmethod
    def from_info(cls, info: VideoInfo) -> VideoDoc:
        slots = [Slot(pts, index) for index, pts in enumerate(info.pts)]
        metadata: dict[str, Any] = {"tags": dict(info.tags)}
        if info.warnings:  # said by `lacuna info`, `repair` and batch as a picture's are
            metadata["read_warnings"] = list(info.warnings)
        return cls(info=info, slots=slots, path=info.path, metadata=metadata)

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

    def planned(self) -> list[int]:
        """Indices of the slots a repair rebuilt or may still change (pending ones that may be left)."""
        pending = self.pending.pts if self.pending is not None else frozenset()
        return [i for i, s in enumerate(self.slots) if s.source is None or s.pts in pending]

    def as_decoded(self, index: int) -> bool:
        """True when slot `index` shows its source frame as decoded, neither rebuilt nor pending."""
        slot = self.slots[index]
        return slot.source is not None and (self.pending is None or slot.pts not in self.pending.pts)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray | None]]:
        """(slot index, uint8 RGB frame or None if it cannot be decoded), decoding sequentially; the
        pending frames of the range are made on the way."""
        yield from self.walk(start, stop)

    def walk(
        self,
        start: int = 0,
        stop: int | None = None,
        raw: bool = False,
        originals: bool = False,
    ) -> Iterator[tuple[int, Any]]:
        """(slot index, frame) in timeline order. Source frames are decoded (FFmpeg's own frames with
        `raw`, else uint8 RGB; None when undecodable); rebuilt ones are uint8 RGB from the store, or
        made now by the pending repair (only those from `start` to `stop`). With `raw` and `originals`, a
        frame rebuilt in place of a source frame comes as `Remade`, with that source frame."""
        stop = len(self.slots) if stop is None else min(stop, len(self.slots))
        walked = self.slots[start:stop]
        pending = self.pending.pts if self.pending is not None else frozenset()
        wanted = frozenset(s.pts for s in walked if s.pts in pending)
        with_originals = raw and originals
        sources = [k for s in walked if (k := _decoded_for(s, with_originals)) is not None]
        shown = set(sources)
        decoded: Iterator[tuple[int, Any]] = iter(())
        reader = None
        if sources:
            reader = open_reader(self.info)
            decoded = reader.frames(min(sources), max(sources) + 1, raw=raw)
        rebuilding = _Rebuilding(self, wanted)
        held: dict[int, Any] = {}
        try:
            for index in range(start, stop):
                slot = self.slots[index]
                made = rebuilding.frame(slot.pts) if slot.pts in wanted else None
                key = _decoded_for(slot, with_originals)
                if key is not None:  # decoded even when remade: frames a remade run covers are never held
                    while key not in held:
                        got, frame = next(decoded)
                        if got in shown:  # a frame no slot shows (or replaces) is not held
                            held[got] = frame
                    for old in [k for k in held if k < key]:
                        del held[old]
                if slot.source is None:
                    if made is None and slot.pts in wanted:
                        raise MethodError(f"the frame at {self.info.time(slot.pts):.3f} s was not rebuilt")
                    made = made if made is not None else self.store.get(slot.pts)
                    yield index, Remade(made, held[key]) if key is not None else made
                    continue
                if made is not None and with_originals:
                    yield index, Remade(made, held[key])
                    continue
                yield index, made if made is not None else held[key]
        finally:
            rebuilding.close()
            if reader is not None:
                reader.close()

    def compute(self) -> Generator[Progress, None, VideoDoc]:
        """Compute the pending frames into the store (with progress; cancel by closing); returns self.
        A slot the repair left as it was keeps its source frame."""
        if self.pending is None:
            return self
        work = self.pending.make(self.pending.pts)
        made: set[int] = set()
        try:
            for item in work:
                if isinstance(item, Progress):
                    yield item
                elif item[1] is not None:
                    self.store.put(*item)
                    made.add(item[0])
        finally:
            work.close()
        self.slots = [s.repaired(s.note) if s.pts in made else s for s in self.slots]
        self.pending = None
        return self

    def frame(self, index: int) -> np.ndarray | None:
        for _, frame in self.frames(index, index + 1):
            return frame
        return None

    def window(self, start: int, stop: int) -> list[np.ndarray | None]:
        return [frame for _, frame in self.frames(start, stop)]

    def counterpart(self, other: VideoDoc, index: int) -> int:
        """The slot of this timeline that shows what slot `index` of `other` (another version of the
        clip) shows: the same source frame, wherever a repair moved it in time; for a frame `other`
        inserted, the frame before it (as a before/after caption says); else the one nearest in time."""
        mine = {}
        for i, slot in enumerate(self.slots):
            mine.setdefault(slot.identity, i)
        for back in range(index, -1, -1):  # a frame inserted there: the frame shown before it
            if other.slots[back].identity in mine:
                return mine[other.slots[back].identity]
            if other.slots[back].source is not None or other.slots[back].replaces is not None:
                break
        wanted = other.slots[index].pts
        return int(np.argmin([abs(s.pts - wanted) for s in self.slots]))

    def with_timeline(self, slots: list[Slot], rebuilt: dict[int, np.ndarray]) -> VideoDoc:
        """A new document with `slots`; `rebuilt` maps the pts of each new slot to its frame. Slots
        kept from this document whose frames are still pending stay pending."""
        clone = copy.copy(self)
        clone.store = self.store.copy()
        for pts, frame in rebuilt.items():
            clone.store.put(pts, frame)
        clone.slots = list(slots)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        clone.pending = None
        clone.last_step = frozenset(rebuilt)
        if self.pending is not None:
            ours = {s.pts: s for s in self.slots if s.pts in self.pending.pts}
            clone.pending = self.pending.only({s.pts for s in slots if ours.get(s.pts) == s} - set(rebuilt))
        return clone

    def shifted(self, moves: dict[int, int]) -> VideoDoc:
        """The same document with slots moved in time (`moves`: old pts -> new pts, order kept), their
        rebuilt and pending frames with them: room made for frames lost without a timestamp gap."""
        clone = copy.copy(self)
        clone.slots = [replace(s, pts=moves.get(s.pts, s.pts)) for s in self.slots]
        clone.store = FrameStore(self.store.budget)
        for pts in self.store.keys():
            clone.store.put(moves.get(pts, pts), self.store.get(pts))
        clone.pending = self.pending.moved(moves) if self.pending is not None else None
        clone.last_step = frozenset(moves.get(p, p) for p in self.last_step)
        clone.metadata = dict(self.metadata)
        clone.provenance = list(self.provenance)
        return clone

    def with_pending(self, slots: list[Slot], pending: Pending) -> VideoDoc:
        """A new document with `slots` whose rebuilt frames at `pending.pts` are computed when walked."""
        clone = self.with_timeline(slots, {})
        for pts in pending.pts:
            clone.store.discard(pts)
        earlier = clone.pending.only(set(clone.pending.pts - pending.pts)) if clone.pending else None
        clone.pending = earlier.merged(pending) if earlier is not None else pending
        clone.last_step = pending.pts
        return clone


def _decoded_for(slot: Slot, originals: bool) -> int | None:
    """The source frame a walk decodes for `slot`: the one it shows, or (`originals`) the one its
    rebuilt frame replaces."""
    if slot.source is not None:
        return slot.source
    return slot.replaces if originals else None


class _Rebuilding:
    """The rebuilt frames of one walk, pulled in order from the pending repair (started when first
    needed, so a walk over none of them makes nothing)."""

    def __init__(self, doc: VideoDoc, wanted: frozenset[int]):
        self.doc = doc
        self.wanted = wanted
        self.work: Made | None = None

    def frame(self, pts: int) -> np.ndarray | None:
        if self.work is None:
            self.work = self.doc.pending.make(self.wanted)
        while True:
            item = next(self.work, None)
            if item is None:
                raise MethodError(f"the frame at {self.doc.info.time(pts):.3f} s could not be rebuilt")
            if not isinstance(item, Progress) and item[0] == pts:
                return item[1]

    def close(self) -> None:
        if self.work is not None:
            self.work.close()


def _in_time_order(streams: list[Made]) -> Made:
    """The frames of several makers in timeline order (each yields its own in order); progress is
    passed on as it comes."""
    heads: list[tuple[int, np.ndarray | None] | None] = [None] * len(streams)
    live = list(range(len(streams)))
    try:
        while True:
            for k in list(live):
                while heads[k] is None:
                    item = next(streams[k], None)
                    if item is None:
                        live.remove(k)
                        break
                    if isinstance(item, Progress):
                        yield item
                    else:
                        heads[k] = item
            if not live:
                return
            first = min(live, key=lambda k: heads[k][0])
            yield heads[first]
            heads[first] = None
    finally:
        for stream in streams:
            stream.close()
