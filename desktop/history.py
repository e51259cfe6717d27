"""The one undo history of the desktop: every workspace records its edits here.

Entries are opaque to the history (a mask stroke, a repair, an audio fill, a frame edit); the
workspace that made an entry knows how to revert and re-apply it. Entries live in lanes: one per
frame for edits confined to that frame (painting one slice never undoes another slice's strokes)
and `GLOBAL` for document-wide changes (repairs, fills), so an undo on frame k takes the most recent
of frame k's lane and the global lane.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

GLOBAL = "global"  # the lane of document-wide changes and of edits spanning several frames


def frame_lane(frame: int) -> tuple[str, int]:
    """The lane of edits confined to one frame."""
    return ("mask", int(frame))


@dataclass
class Entry:
    """A history record: a payload (a MaskEdit, a repair, a fill) its workspace knows how to undo."""

    lane: Hashable
    label: str
    payload: Any
    nbytes: int
    seq: int = 0


@dataclass
class History:
    """Undo/redo in lanes (see the module text); a repair is undone in its place in time.
    Entries are dropped oldest first once they hold more than `cap_bytes` (the newest is kept).
    """

    cap_bytes: int = 512 << 20
    _undo: dict[Hashable, list[Entry]] = field(default_factory=dict)
    _redo: dict[Hashable, list[Entry]] = field(default_factory=dict)
    _seq: int = 0

    def push(self, entry: Entry) -> None:
        self._seq += 1
        entry.seq = self._seq
        self._undo.setdefault(entry.lane, []).append(entry)
        if entry.lane == GLOBAL:
            self._redo.clear()
        else:
            self._redo.pop(entry.lane, None)
            self._redo.pop(GLOBAL, None)
        self._enforce_cap()

    def _lanes(self, frame: int | None) -> list[Hashable]:
        return [GLOBAL] if frame is None else [frame_lane(frame), GLOBAL]

    def can_undo(self, frame: int | None) -> bool:
        return any(self._undo.get(lane) for lane in self._lanes(frame))

    def can_redo(self, frame: int | None) -> bool:
        return any(self._redo.get(lane) for lane in self._lanes(frame))

    def undo(self, frame: int | None) -> Entry | None:
        """Pop the most recent entry visible from `frame`; the caller reverts it."""
        tops = [self._undo[lane][-1] for lane in self._lanes(frame) if self._undo.get(lane)]
        if not tops:
            return None
        entry = max(tops, key=lambda e: e.seq)
        self._undo[entry.lane].pop()
        self._redo.setdefault(entry.lane, []).append(entry)
        return entry

    def redo(self, frame: int | None) -> Entry | None:
        """Pop the most recently undone entry visible from `frame`; the caller re-applies it."""
        tops = [self._redo[lane][-1] for lane in self._lanes(frame) if self._redo.get(lane)]
        if not tops:
            return None
        entry = min(tops, key=lambda e: e.seq)
        self._redo[entry.lane].pop()
        self._undo.setdefault(entry.lane, []).append(entry)
        return entry

    def pop_undo(self, lane: Hashable) -> Entry | None:
        """Undo the top of one lane (replaying a journal, where the lane is known)."""
        stack = self._undo.get(lane)
        if not stack:
            return None
        entry = stack.pop()
        self._redo.setdefault(lane, []).append(entry)
        return entry

    def pop_redo(self, lane: Hashable) -> Entry | None:
        stack = self._redo.get(lane)
        if not stack:
            return None
        entry = stack.pop()
        self._undo.setdefault(lane, []).append(entry)
        return entry

    def peek_undo(self, frame: int | None) -> Entry | None:
        tops = [self._undo[lane][-1] for lane in self._lanes(frame) if self._undo.get(lane)]
        return max(tops, key=lambda e: e.seq) if tops else None

    def peek_redo(self, frame: int | None) -> Entry | None:
        tops = [self._redo[lane][-1] for lane in self._lanes(frame) if self._redo.get(lane)]
        return min(tops, key=lambda e: e.seq) if tops else None

    def drop_frame_edits(self, also: Callable[[Entry], bool] = lambda entry: False) -> None:
        """Forget every per-frame edit, and global entries for which `also` is true (after the
        frames changed shape, their edits no longer apply)."""
        for stacks in (self._undo, self._redo):
            for lane in [lane for lane in stacks if lane != GLOBAL]:
                del stacks[lane]
            for stack in stacks.values():
                stack[:] = [e for e in stack if not also(e)]

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for stacks in (self._undo, self._redo) for s in stacks.values() for e in s)

    def entries(self) -> list[Entry]:
        """Undo entries, oldest first (for the autosave)."""
        return sorted((e for s in self._undo.values() for e in s), key=lambda e: e.seq)

    def _enforce_cap(self) -> None:
        total = self.nbytes
        while total > self.cap_bytes:
            # Redo entries go first (they are the least likely to be wanted), then the oldest undo.
            pools = [s for s in self._redo.values() if s] or [s for s in self._undo.values() if s]
            if not pools:
                return
            stack = min(pools, key=lambda s: s[0].seq)
            if stack[0].seq == self._seq:  # never drop the entry just pushed
                return
            total -= stack.pop(0).nbytes

    def first_before(self, edit: Any, kind: type) -> Any:
        """The document before the first of the repairs (payloads of `kind`, with .before and .after)
        that led to `edit`'s: the one as opened, when every repair since is still in the history."""
        made = {id(e.payload.after): e.payload for e in self.entries() if isinstance(e.payload, kind)}
        while id(edit.before) in made:
            edit = made[id(edit.before)]
        return edit.before

    def last(self, kind: type) -> Entry | None:
        """The most recent undo entry of the global lane whose payload is a `kind`."""
        for entry in reversed(self._undo.get(GLOBAL) or []):
            if isinstance(entry.payload, kind):
                return entry
        return None
