"""Detect damage in the video workspace: core's detectors on the current frame (or the range), the
proposal shown as the editable mask.

The default detector is the one `lacuna detect` runs on a clip (the learned one checked against the
neighbouring frames, `core.detect.frames`: alone, frame by frame, it proposed content that stays in
the shot); it and the temporal detector (a speck on one frame and not on its motion-compensated
neighbours) get the frames either side of the current one or the range as well. Over a range, the
proposal shown is every pixel found on any frame of it, and a repair of the range fills each frame
under its own marks and what was painted by hand (`per_frame`). As in
the image workspace, the sensitivity slider re-thresholds the scores live, keeping brush and eraser
edits (`desktop.proposal.Proposal`), and the detection with its sensitivity is one undo step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from desktop.proposal import Detector, Proposal
from desktop.workspaces.video.mask import MaskChange

MAX_FRAMES = 12  # frames scored at once: each is held as float32 while the detector runs


class VideoDetection(Detector):
    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(controller, parent)
        self.step: MaskChange | None = None

    def methods(self) -> list[tuple[str, str]]:
        from core.methods import default_method, methods

        first = default_method("detect", "video").card.id  # as `lacuna detect` on a clip
        cards = sorted((c for c in methods("detect") if c.available), key=lambda c: c.id != first)
        return [(c.id, c.name) for c in cards]

    def run(self, method: str | None = None, params: dict[str, Any] | None = None) -> bool:
        c = self.controller
        doc = c.doc
        if doc is None or c.busy:
            return False
        first, last = c.selection or (c.index, c.index)
        if last - first + 1 > MAX_FRAMES:
            c.error.emit(f"Detect damage looks at {MAX_FRAMES} frames at most: select a shorter range.")
            return False
        from core.detect.run import detection_window
        from core.runtime.context import RunContext

        lo, hi = detection_window(first, last, doc.frame_count)  # the neighbours either side

        ctx = RunContext(**(c.settings.run_settings() if c.settings is not None else {}))

        def start():
            from core.detect.run import detect
            from core.documents import ImageDoc
            from core.errors import MethodError

            frames = doc.window(lo, hi + 1)
            if any(frame is None for frame in frames):
                raise MethodError("a frame here cannot be decoded: rebuild it with fill-frames first")
            stack = ImageDoc(pixels=np.stack(frames).astype(np.float32), dtype="uint8")
            found = yield from detect(stack, method=method, ctx=ctx, **(params or {}))
            return found, found.score[first - lo : last - lo + 1].max(axis=0)

        c.jobs.start(
            "Detect damage",
            start,
            lambda result: self._finished(doc, (first, last), *result),
            ctx.cancel_event,
        )
        return True

    def _finished(self, doc, scored: tuple[int, int], found, score: np.ndarray) -> None:
        c = self.controller
        if c.doc is not doc:
            return
        # the frames it looked at go in the provenance: the mask may be used on another frame
        found = replace(found, params={**found.params, "frames_scored": list(scored)})
        before = c.swept()  # erased before this detection: not an edit of its proposal
        painted = self.painted(c.mask)
        repair = c.last_repair()
        if painted is not None and repair is not None and repair.filled is not None:
            painted = np.where(repair.filled > 0, 0, painted).astype(np.uint8)  # spent by that repair
        proposal = Proposal(score, found.threshold, painted, found.low_fraction, found.rule, before)
        self.propose(doc, proposal, found)
        self._show(self.proposal.masks())

    def per_frame(self, mask: np.ndarray, frames: list[int] | None) -> np.ndarray | None:
        """`mask` (the one the range shows, the proposal as edited) as one mask per frame of `frames`,
        when they are the range this proposal scored: each frame's own marks (the repair rule on its
        scores) that are still in the mask, and on every frame what was painted by hand. One mask for
        the range put every frame's dust on all of them (a walk-through: a frame with 7 px of its own
        damage had 383 repainted). None when the mask is not this proposal's."""
        if not self.showing() or frames is None:
            return None
        first, last = self.found.params["frames_scored"]
        if frames != list(range(first, last + 1)) or len(frames) < 2:
            return None
        from core.detect.run import detection_window, repair_mask

        lo = detection_window(first, last, self.controller.doc.frame_count)[0]  # the stack's first frame
        p = self.edited()
        now = np.asarray(mask) > 0
        own = repair_mask(self.found.score[first - lo : last - lo + 1], p.threshold, self.found.rule)
        by_hand = now & ~p.detected
        return np.where((own & now) | by_hand, 255, 0).astype(np.uint8)

    def current_masks(self) -> np.ndarray:
        mask = self.controller.mask
        return mask if mask is not None else np.zeros(self.proposal.score.shape, np.uint8)

    def swept(self) -> np.ndarray | None:
        return self.controller.swept()

    def brushed(self) -> np.ndarray | None:
        return self.controller.brushed()

    def _show(self, mask: np.ndarray) -> None:
        top = self.controller.history.peek_undo(None)
        label = self.label(self.step is not None and top is not None and top.payload is self.step)
        self._record_step(lambda: self.controller.set_mask(mask, label, replacing=self.step))
        self.changed.emit()

    def proposed_fraction(self) -> float:
        mask = self.controller.mask
        return 0.0 if mask is None else float(np.count_nonzero(mask)) / mask.size
