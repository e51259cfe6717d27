"""The video workspace's state and actions, without a window: the current frame, the damage found,
the frame range, the mask, repairs and their undo, before/after.

Frames are decoded on demand from the document (a few kept in a small cache), never the whole clip.
The damage scan and every repair run core's generators on the shared `JobRunner`; a repair returns
a new document (its timeline and rebuilt frames), so its undo entry keeps the two documents, whose
untouched frames stay in the file. A repair only plans (core.video.document): its frames are made
when shown, the current one alone on the `previewer` job (one at a time: stepping on while one is
made asks for the newest when it is done, and playback waits for it), and all of them, streamed,
when the clip is saved. Such a result is not scanned for damage (that would make every frame): the
marks found before are carried over to its timeline. The mask (painted, or proposed by Detect
damage) applies to the range, else to the current frame; each change of it is an undo step too.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.documents import Provenance
from desktop.history import GLOBAL, Entry
from desktop.jobs import JobRunner, describe_error
from desktop.proposal import with_origin
from desktop.session import Session
from desktop.workspaces.video.mask import MaskChange, Stroke

CACHE_FRAMES = 12
TASKS = ("fill-frames", "remove-dust", "deflicker", "denoise", "dejpeg", "inpaint", "upscale", "retime")


@dataclass
class RepairEdit:
    before: Any  # the VideoDoc before the repair
    after: Any
    filled: np.ndarray | None = None  # the mask it filled: spent, for a detection on its result

    @property
    def nbytes(self) -> int:
        return 1 << 20  # the documents share their file; the rebuilt frames live in frame stores


class VideoController(QObject):
    frame_changed = Signal(int)  # the frame shown
    document_shown = Signal()  # a new document or new content: timeline, markers, range
    damage_changed = Signal()
    mask_changed = Signal()
    error = Signal(str)
    warning = Signal(str)  # what a person must know about a repair's result (a clip made longer)
    withdrawn = Signal(str)  # that warning, taken back once its result is undone
    status = Signal(str)

    def __init__(self, session: Session, settings=None, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.jobs = JobRunner(self, "Cancelled: the video is unchanged.")
        self.scanner = JobRunner(self, "Damage scan cancelled.")
        self.previewer = JobRunner(self, "")
        self._wanted: tuple[Any, int] | None = None  # the frame to make next: (document, slot)
        self._known: dict[int, tuple[weakref.ref, list]] = {}  # damage per document, by id
        self.index = 0
        self.damage: list = []
        self.selection: tuple[int, int] | None = None  # first and last frame, inclusive
        self._warned: tuple[Any, str] | None = None  # the shown result's warning: (weakref, text)
        self.showing_before = False
        self.against_original = False  # comparisons against the clip as opened, not the last repair
        self._made_of: weakref.ref | None = None  # the document `_made` describes (not kept alive by it)
        self._made: dict[int, str] = {}
        self.mask: np.ndarray | None = None  # uint8 (H, W), 255 = repair
        # Where a mask came from when it was not painted (Detect damage sets it): a provenance step.
        self.mask_origin: Callable[[np.ndarray], Provenance | None] | None = None
        # a detection's range mask as one mask per frame (VideoDetection.per_frame), else None
        self.mask_per_frame: Callable[[np.ndarray, list[int] | None], np.ndarray | None] | None = None
        self.brush_radius = 8
        self._stroke: Stroke | None = None
        self._stroke_from: np.ndarray | None = None
        # How many eraser (True) and brush (False) strokes in effect passed over each pixel: Detect
        # damage keeps them clear (painted) whatever its sensitivity.
        self._paths: dict[bool, np.ndarray] = {}
        self._cache: OrderedDict[tuple[int, int], np.ndarray | None] = OrderedDict()

    # --- the document ---

    @property
    def doc(self):
        return self.session.document_of("video")

    @property
    def history(self):
        return self.session.history

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    @property
    def frame_count(self) -> int:
        doc = self.doc
        return doc.frame_count if doc is not None else 0

    def show_new_document(self) -> None:
        self.jobs.drop()
        self.scanner.drop()
        self.previewer.drop()
        self.index, self.damage, self.selection, self.showing_before = 0, [], None, False
        self.mask, self._stroke, self._wanted = None, None, None
        self._paths = {}
        self.mask_changed.emit()
        self._cache.clear()
        self._known.clear()
        self.document_shown.emit()
        self.frame_changed.emit(0)
        self.find_damage()

    def shown_document(self):
        if self.showing_before:
            return self.previous() or self.doc
        return self.doc

    def frame(self, index: int | None = None) -> np.ndarray | None:
        """The RGB frame at `index` (default: the current one) of the document shown; None when it
        cannot be decoded, or while a repaired frame is being made (`making` says which)."""
        return self._frame_of(self.shown_document(), index)

    def before_frame(self, index: int | None = None) -> np.ndarray | None:
        """The frame at `index` as it was before the last repair (for Split Before/After and the
        Difference Map); None when no repair was made."""
        return self._frame_of(self.previous(), index)

    def _frame_of(self, doc, index: int | None) -> np.ndarray | None:
        if doc is None:
            return None
        index = self.index if index is None else index
        if doc is not self.doc:  # before: the same frame in the older timeline (frames may have moved)
            index = doc.counterpart(self.doc, min(index, self.doc.frame_count - 1))
        key = (id(doc), index)
        if key in self._cache:
            return self._cache[key]
        if doc.pending is not None and doc.slots[index].pts in doc.pending.pts:
            self._make(doc, index)
            return None
        return self._keep(key, doc.frame(index))

    def made_frames(self) -> dict[int, str]:
        """Frames of the shown document that a repair made, by index, with why ("inserted",
        "duplicate", "inpaint", ...): after a repair the view and timeline still say which they are."""
        doc = self.doc
        if doc is None or self.showing_before:
            return {}
        if self._made_of is None or self._made_of() is not doc:  # once per document: asked on every paint
            made = {i: doc.slots[i].note or "repaired" for i in doc.rebuilt()}
            # a filter's frames (dust, flicker) are made when shown or saved: the latest repair's by
            # its task, an earlier one's still to make as "repaired"
            task = doc.provenance[-1].task if doc.provenance else "repaired"
            for i in doc.planned():
                made.setdefault(i, task if doc.slots[i].pts in doc.last_step else "repaired")
            self._made_of, self._made = weakref.ref(doc), made
        return self._made

    def making(self, index: int | None = None) -> bool:
        """True while the repaired frame at `index` (default: the current one) is being made."""
        index = self.index if index is None else index
        return self.previewer.busy and self._wanted is not None and self._wanted[1] == index

    def _keep(self, key: tuple[int, int], frame: np.ndarray | None) -> np.ndarray | None:
        self._cache[key] = frame
        while len(self._cache) > CACHE_FRAMES:
            self._cache.popitem(last=False)
        return frame

    def _make(self, doc, index: int) -> None:
        """Make one pending frame on the previewer; one at a time, the newest asked for next."""
        self._wanted = (doc, index)
        if self.previewer.busy:
            return

        def make():
            from core.runtime.context import Progress

            yield Progress(0.0, f"making frame {index + 1}")
            try:
                return doc.frame(index)
            except Exception as exc:  # noqa: BLE001 — said once; the frame is then shown as undecodable
                return exc

        def made(frame) -> None:
            if isinstance(frame, Exception):
                self.error.emit(describe_error(frame, f"Making frame {index + 1}"))
                frame = None
            self._keep((id(doc), index), frame)
            self.frame_changed.emit(self.index)  # shown if current; else the newest wanted is made

        self.previewer.start(f"Making frame {index + 1}", make, made)

    def time(self, index: int | None = None) -> float:
        doc = self.doc
        return doc.time(self.index if index is None else index) if doc is not None else 0.0

    # --- stepping ---

    def go(self, index: int) -> None:
        if self.doc is None:
            return
        self.index = int(min(max(index, 0), self.frame_count - 1))
        self.frame_changed.emit(self.index)

    def step(self, delta: int) -> None:
        self.go(self.index + delta)

    def first(self) -> None:
        self.go(0)

    def last(self) -> None:
        self.go(self.frame_count - 1)

    # --- damage and the range ---

    def find_damage(self) -> None:
        doc = self.doc
        if doc is None:
            return
        from core.video.damage import scan_steps

        self.scanner.start(
            "Looking for damage", lambda: scan_steps(doc), lambda found: self._scanned(doc, found)
        )

    def _scanned(self, doc, found: list) -> None:
        if doc is not self.doc:
            return
        self._set_damage(doc, found)

    def _set_damage(self, doc, found: list, say: bool = True) -> None:
        self._known[id(doc)] = (weakref.ref(doc), found)
        self.damage = found
        from core.video.damage import summary

        if say:
            self.status.emit(f"Damage: {summary(found, first=1)}")  # frames as the view numbers them
        self.damage_changed.emit()

    def next_damage(self, forward: bool = True) -> None:
        frames = sorted({d.frame for d in self.damage if d.kind != "cut"})
        later = [f for f in frames if (f > self.index if forward else f < self.index)]
        if later:
            self.go(later[0] if forward else later[-1])

    def set_selection(self, first: int | None, last: int | None = None) -> None:
        if first is None:
            self.selection = None
        else:
            last = first if last is None else last
            a, b = sorted((int(first), int(last)))
            self.selection = (max(a, 0), min(b, self.frame_count - 1))
        self.document_shown.emit()

    def mark_in(self) -> None:
        end = self.selection[1] if self.selection else self.index
        self.set_selection(self.index, max(end, self.index))

    def mark_out(self) -> None:
        start = self.selection[0] if self.selection else self.index
        self.set_selection(min(start, self.index), self.index)

    def selected_frames(self) -> list[int] | None:
        if self.selection is None:
            return None
        return list(range(self.selection[0], self.selection[1] + 1))

    # --- repairs ---

    def repair(self, task: str, method: str, params: dict[str, Any] | None = None) -> bool:
        """Run `method` on the selected frames (fill-frames without a range: on the damage found)."""
        doc = self.doc
        if doc is None:
            return False
        from core.methods import get_method
        from core.runtime.context import RunContext

        ctx = RunContext(**(self.settings.run_settings() if self.settings is not None else {}))
        frames = self.selected_frames()
        params = dict(params or {})
        mask = self.mask if self.mask is not None and self.mask.any() else None
        if get_method(method).card.operates_on != "image":
            mask = None  # fill-frames, dust, flicker, retime work on the timeline, not on a mask
        elif mask is not None and frames is None:
            frames = [self.index]  # a mask without a range is for the frame it was made on
        per_frame = None if mask is None or self.mask_per_frame is None else self.mask_per_frame(mask, frames)

        def start():
            from core.repair import repair

            # planned only: its frames are made when shown, and streamed when saved
            given = mask if per_frame is None else per_frame
            return (yield from repair(doc, task, method, given, ctx, frames=frames, **params))

        if self.session.writer.busy:
            self.error.emit("The clip is being saved: repair once the save is done (or cancelled).")
            return False
        origin = None if mask is None or self.mask_origin is None else self.mask_origin(mask)
        filled = mask if get_method(method).card.needs_mask else None  # spent, for a detection after
        from core.methods import method_name

        named = method_name(method) or method  # as the image view names it (it showed the id)
        self.jobs.start(
            f"Repairing with {named}",
            start,
            lambda result: self._finished(doc, result, named, origin, filled),
            ctx.cancel_event,
        )
        return True

    def _finished(self, source, result, label: str, origin=None, filled=None) -> None:
        if self.doc is not source:
            return
        from core.video.damage import carried

        with_origin(result, origin)  # a mask from Detect damage: its step goes before the repair's
        edit = RepairEdit(source, result, filled)
        self.history.push(Entry(GLOBAL, label, edit, edit.nbytes))
        changed = sum(slot.pts in result.last_step for slot in result.slots)
        if result.pending is not None and self._damage_of(source) is not None:
            # carried over, not found anew: the repair's own line says what changed (a walk-through
            # read the scan's line again after every repair)
            self._set_damage(result, carried(self._damage_of(source), source, result), say=False)
        self._show(result)
        # the repair is planned: a frame is made when shown and all are when saved (walk-through 53
        # read "finished" while the frame shown was still being made)
        making = " (each made when shown, all when saved)" if result.pending is not None else ""
        self.status.emit(f"{label}: {changed} frame(s) repaired{making}, {result.frame_count} frames")
        warned = result.provenance[-1].warnings if result.provenance else []
        if warned:  # a clip made longer says so, on the notice bar until dismissed (walk-throughs 41, 42)
            self._warned = (weakref.ref(result), f"{label}: " + "; ".join(warned))
            self.warning.emit(self._warned[1])
        self.session.history_changed.emit()

    def last_repair(self) -> RepairEdit | None:
        """The repair that produced the clip shown, if it is one."""
        entry = self.history.last(RepairEdit)
        return entry.payload if entry is not None and entry.payload.after is self.doc else None

    def _damage_of(self, doc) -> list | None:
        """The damage known for `doc` (found by a scan, or carried over from the document it repairs)."""
        ref, found = self._known.get(id(doc), (None, None))
        return found if ref is not None and ref() is doc else None

    def cancel(self) -> None:
        self.jobs.cancel()
        self.scanner.cancel()

    def shutdown(self, timeout: float = 3.0) -> bool:
        ok = self.jobs.shutdown(timeout)
        ok = self.scanner.shutdown(timeout) and ok
        return self.previewer.shutdown(timeout) and ok

    # --- undo / redo ---

    def undo(self) -> None:
        self._step(True)

    def redo(self) -> None:
        self._step(False)

    def _step(self, undo: bool) -> None:
        if self.doc is None or self.busy:
            return
        entry = self.history.undo(None) if undo else self.history.redo(None)
        if entry is None:
            return
        change = entry.payload
        if isinstance(change, MaskChange):
            self._sweep(change.swept, -1 if undo else +1, change.erased)
            self._set_mask(change.before if undo else change.after)
        else:
            self._show(change.before if undo else change.after)
        self.status.emit(("Undid " if undo else "Redid ") + entry.label)
        self.session.history_changed.emit()

    def _show(self, doc) -> None:
        """Show `doc` with the damage known for it; a document whose frames are all at hand is scanned
        when none is known, one still to be made is not (that would make every frame)."""
        self.showing_before = False
        if self._warned is not None and self._warned[0]() is not doc:  # its result undone (a review)
            self.withdrawn.emit(self._warned[1])
            self._warned = None
        self.scanner.drop()
        self.damage = self._damage_of(doc) or []
        self.damage_changed.emit()
        shown = self.doc
        self.session.replace(doc)
        # the same picture stays in view when a repair (or its undo) moved frames in time
        if shown is not None and shown is not doc and shown.frame_count:
            self.index = doc.counterpart(shown, min(self.index, shown.frame_count - 1))
        self.index = min(self.index, doc.frame_count - 1)
        self._cache.clear()
        self.document_shown.emit()
        self.frame_changed.emit(self.index)
        if self._damage_of(doc) is None and doc.pending is None:
            self.find_damage()

    # --- before / after ---

    def previous(self):
        """The clip as it was before the last repair, or as opened (`against_original`: Compare with
        the Original); None before any repair."""
        entry = self.history.last(RepairEdit)
        if entry is None:
            return None
        return (
            self.history.first_before(entry.payload, RepairEdit)
            if self.against_original
            else entry.payload.before
        )

    def set_before(self, before: bool) -> None:
        self.showing_before = bool(before) and self.previous() is not None
        self.frame_changed.emit(self.index)

    # --- the mask ---

    def set_mask(
        self,
        mask: np.ndarray | None,
        label: str,
        replacing: MaskChange | None = None,
        swept: np.ndarray | None = None,
        erased: bool = True,
    ) -> MaskChange:
        """Show `mask` as one undo step (`swept`: the path of an eraser, or of a brush if not
        `erased`, for Detect damage); `replacing`, while still the latest step, is taken back first
        (the sensitivity slider moves without adding steps)."""
        before = self.mask
        top = self.history.peek_undo(None)
        if replacing is not None and top is not None and top.payload is replacing:
            self.history.pop_undo(top.lane)
            before = replacing.before
        after = None if mask is None else np.asarray(mask, np.uint8)
        change = MaskChange(before, after, swept, erased=erased)
        self._sweep(swept, +1, erased)
        self.history.push(Entry(GLOBAL, label, change, change.nbytes))
        self._set_mask(change.after)
        self.session.history_changed.emit()
        return change

    def clear_mask(self) -> None:
        if self.mask is not None:
            self.set_mask(None, "clear mask")

    def _set_mask(self, mask: np.ndarray | None) -> None:
        self.mask = mask
        self.mask_changed.emit()

    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        """Start a brush (or eraser) stroke at frame pixel (x, y)."""
        doc = self.doc
        if doc is None or self.busy:
            return
        blank = np.zeros((doc.info.height, doc.info.width), np.uint8)
        self._stroke = Stroke(self.mask if self.mask is not None else blank, x, y, self.brush_radius, erase)
        self._stroke_from = self.mask
        self._set_mask(self._stroke.mask)

    def stroke_to(self, x: float, y: float) -> None:
        if self._stroke is not None:
            self._stroke.to(x, y)
            self.mask_changed.emit()

    def end_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        erase = stroke.value == 0
        self.mask = self._stroke_from  # recorded from where it started, as one step
        self.set_mask(stroke.mask, "eraser" if erase else "brush", swept=stroke.swept > 0, erased=erase)

    def _sweep(self, path: np.ndarray | None, step: int, erased: bool) -> None:
        if path is None:
            return
        counts = self._paths.get(erased)
        if counts is None or counts.shape != path.shape:
            counts = self._paths[erased] = np.zeros(path.shape, np.int16)
        counts += path.astype(np.int16) * step

    def _path(self, erased: bool) -> np.ndarray | None:
        counts = self._paths.get(erased)
        return None if counts is None or not counts.any() else counts > 0

    def swept(self) -> np.ndarray | None:
        """Where the eraser strokes now in effect passed (bool), None where none did."""
        return self._path(True)

    def brushed(self) -> np.ndarray | None:
        """Where the brush strokes now in effect passed (bool), None where none did."""
        return self._path(False)
