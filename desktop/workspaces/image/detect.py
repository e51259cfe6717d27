"""Detect damage in the image workspace: the proposal becomes the mask, editable like a painted one.

"Detect damage" runs a core `detect` method on the worker thread and puts its proposal into the
masks as one undo step (what was painted before stays). The sensitivity slider re-thresholds the
detector's scores live, without running it again and without adding undo steps: the detection's
history entry is replaced while it is the latest one. Brush and eraser work on the proposal as on any
mask, and the slider keeps those edits (`Proposal`). Repair then runs as usual.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from desktop.mask_model import MaskEdit
from desktop.proposal import Detector, Proposal
from desktop.widgets.detect_panel import DetectPanel, connect_panel


class Detection(Detector):
    """Runs detection for the image controller and keeps the proposal while the document stays."""

    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(controller, parent)
        self.step: MaskEdit | None = None

    def methods(self) -> list[tuple[str, str]]:
        """(id, name) of the detection methods that can run on the open document."""
        from core.methods import choose_method, methods
        from core.methods.modality import modality_of

        frames = self.controller.frames
        cards = [c for c in methods("detect") if c.available]
        doc = self.controller.doc
        if doc is not None and cards:  # first what the engine would choose (no photo network on a scan)
            first = choose_method("detect", modality=modality_of(doc))[0].card.id
            cards.sort(key=lambda c: c.id != first)
        return [(c.id, c.name) for c in cards if c.operates_on != "volume" or frames > 1]

    def run(self, method: str | None = None, params: dict[str, Any] | None = None) -> bool:
        c = self.controller
        doc = c.doc
        if doc is None:
            c.error.emit("Open an image first.")
            return False
        c.cancel_stroke()
        from core.runtime.context import RunContext

        ctx = RunContext(**c.run_settings())
        before = self.painted(c.masks.as_array())
        repair = c.last_repair()
        if repair is not None:  # what the repair shown filled is spent: not painting to keep (a walk-through)
            before = np.where(repair.spent(c.masks.brushed(), before.shape), 0, before).astype(before.dtype)

        def start():
            from core.detect.run import detect  # imported on the worker: the window never waits

            return detect(doc, method=method, ctx=ctx, **(params or {}))

        c.jobs.start(
            "Detect damage",
            start,
            lambda found: self._finished(doc, before, found, ctx.notes),
            ctx.cancel_event,
            ctx,
        )
        return True

    def _finished(self, doc, before: np.ndarray, found, notes=()) -> None:
        if self.controller.doc is not doc:
            return
        for note in notes:  # a scan: anatomy can look like damage (was only in the progress line)
            self.noted.emit(note[:1].upper() + note[1:])
        swept = self.swept()  # erased before this detection: not an edit of its proposal
        proposal = Proposal(found.score, found.threshold, before, found.low_fraction, found.rule, swept)
        self.propose(doc, proposal, found)
        self._show(self.proposal.masks())

    def current_masks(self) -> np.ndarray:
        return self.controller.masks.as_array()

    def swept(self) -> np.ndarray | None:
        return self.controller.masks.swept()

    def brushed(self) -> np.ndarray | None:
        return self.controller.masks.brushed()

    def set_threshold(self, threshold: float) -> None:
        self.controller.cancel_stroke()  # a stroke half-drawn when the slider moved is dropped
        super().set_threshold(threshold)

    def _show(self, masks: np.ndarray) -> None:
        c = self.controller
        entries = c.history.entries()  # the newest of every slice's: an eraser on another counts
        top = entries[-1] if entries else None
        replacing = self.step is not None and top is not None and top.payload is self.step
        label = self.label(replacing)
        if replacing:
            # Still the latest step: take it back silently and record the new proposal in its place.
            c.history.pop_undo(top.lane)
            c.masks.apply(self.step, undo=True)
            if c.session.autosave is not None:
                c.session.autosave.record_step(self.step, undo=True)

        def record() -> MaskEdit:
            # A step even when nothing changed (nothing found, or the slider at an end): the
            # proposal stays in effect and its slider with it.
            step = c.masks.replace_all(masks, label=label) or MaskEdit(label, [], whole=True)
            c.record_edit(step)
            return step

        self._record_step(record)
        c.mask_changed.emit(c.frame, None)
        self.changed.emit()

    def unreviewed_slices(self, plan_mask: np.ndarray, frames: list[int] | None) -> tuple[str, list[int]]:
        """On a scan, the slices other than the one shown where a repair would fill the detector's
        proposal, and why that needs a look first (`lacuna repair --detect` refuses them without
        --unreviewed; a walk-through's one click filled 28 CT slices it had seen one of)."""
        from core.detect.run import scan_caveat

        c = self.controller
        caveat = scan_caveat(c.doc) if c.doc is not None and self.showing() else None
        if caveat is None:
            return "", []
        p = self.edited()
        proposed = p.detected & ~p.erased & (np.asarray(plan_mask) > 0)
        filled = range(len(proposed)) if frames is None else frames
        return caveat, [f for f in filled if f != c.frame and proposed[f].any()]

    def proposed_fraction(self) -> float:
        mask = self.controller.masks.peek(self.controller.frame)
        return 0.0 if mask is None else float(np.count_nonzero(mask)) / mask.size


def attach(workspace, panel: DetectPanel) -> Detection:
    """Wire the panel and a "Detect Damage" menu action to a `Detection` of the workspace's controller."""
    c = workspace.controller
    detection = Detection(c, workspace)
    c.mask_origin = detection.origin  # a repair's history then says where its mask came from

    def picture() -> str:  # a photo is an image; a scan's frames are slices
        return "slice" if c.doc is not None and len(c.doc.pixels) > 1 else "image"

    fill_methods = connect_panel(workspace, panel, detection, picture)
    c.document_changed.connect(lambda new: new and fill_methods(new=True))
    return detection
