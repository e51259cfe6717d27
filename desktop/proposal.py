"""A detection's proposal as an editable mask: the image and video workspaces' "Detect damage".

The scores stay; the sensitivity slider re-thresholds them by core's one rule (`core.detect.run.propose`)
while keeping what the person painted or erased since. `Detector` is what each workspace's detection
shares: the proposal of the document it scored, and the undo step that shows it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from core.detect.run import Detection
    from core.documents import Provenance

LABEL = "detect damage"  # the undo step of a detection
SENSITIVITY = "detection sensitivity"  # a slider move after other edits: a step of its own


class Proposal:
    """A detection's scores as an editable mask stack (uint8, 255 = repair).

    What was painted before detection stays; pixels painted after it stay whatever the threshold,
    also where the brush went over what the detector proposed; pixels erased after it stay erased,
    and so does where the eraser passed over nothing shown. The person's edits are read from the
    masks as they are now against the detector's own mask at the threshold they were shown with, and
    from the paths of the brush and eraser edits in effect: an undone edit, or an undone slider move,
    is simply gone.
    """

    def __init__(
        self,
        score: np.ndarray,
        threshold: float,
        before: np.ndarray | None = None,
        low_fraction: float = 1.0,
        rule=None,
        swept_before: np.ndarray | None = None,
    ):
        self.score = np.asarray(score, np.float32)
        self.low_fraction = low_fraction
        self.rule = rule  # a core RepairRule: show the mask Repair should fill, not the bare proposal
        self.threshold = float(threshold)
        self._before = np.zeros(self.score.shape, bool) if before is None else np.asarray(before) > 0
        self.added = self._before.copy()
        self.erased = np.zeros(self.score.shape, bool)
        # Where the eraser's edits in effect passed since this detection: kept clear whatever the
        # threshold, also where nothing was shown to erase.
        self.swept = np.zeros(self.score.shape, bool)
        self._swept_before = None if swept_before is None else np.asarray(swept_before, bool)
        self._found: dict[float, np.ndarray] = {}  # the detector's masks at the last thresholds asked
        self.detected = self.found_at(self.threshold)  # the detector's own mask at the threshold

    def found_at(self, threshold: float) -> np.ndarray:
        """The detector's own mask at `threshold` (core's one rule), kept for the next question."""
        from core.detect.run import propose, repair_mask

        threshold = float(threshold)
        if threshold not in self._found:
            if self.rule is not None:
                found = repair_mask(self.score, threshold, self.rule)
            else:
                found = propose(self.score, threshold, self.low_fraction)
            self._found = {t: m for t, m in self._found.items() if t == self.threshold}  # two at most
            self._found[threshold] = found
        return self._found[threshold]

    def masks(
        self,
        threshold: float | None = None,
        current: np.ndarray | None = None,
        swept: np.ndarray | None = None,
        shown_at: float | None = None,
        brushed: np.ndarray | None = None,
    ) -> np.ndarray:
        """The masks at `threshold` (the last one if None), after taking in the person's edits: what
        `current` (the masks as they are now) shows against the detector's mask at `shown_at` (the
        threshold of the detection step in effect; the last one if None), where the eraser's
        edits in effect passed (`swept`, None: nowhere), which a lower threshold must not bring back
        even where nothing was proposed to erase, and where the painting edits in effect passed
        (`brushed`), which a higher threshold must not take away even where the detector proposed
        them too."""
        if current is not None:
            now = np.asarray(current) > 0
            base = self.found_at(self.threshold if shown_at is None else shown_at)
            painted = self._before if brushed is None else self._before | np.asarray(brushed, bool)
            # Added: shown and either not the detector's or painted; an undone stroke's path is gone.
            self.added = now & (~base | painted)
            self.erased = (self.erased & ~now) | (base & ~now)
            self.swept = np.zeros(now.shape, bool) if swept is None else np.asarray(swept, bool)
            if self._swept_before is not None:  # erased before this detection: not an edit of it
                self.swept = self.swept & ~self._swept_before
        if threshold is not None:
            self.threshold = float(threshold)
        self.detected = self.found_at(self.threshold)
        shown = (self.detected | self.added) & ~self.erased & ~(self.swept & ~self.added)
        return np.where(shown, 255, 0).astype(np.uint8)


class Detector(QObject):
    """A workspace's detection: `proposal` belongs to the document it scored and goes when another
    document is shown; `step` is the undo step showing it, replaced (not added to) while it is the
    latest, so a detection and its sensitivity are one step. `origin` tells a repair whether its mask
    came from the detection, for the result's provenance."""

    changed = Signal()  # a proposal appeared, changed or was dropped
    noted = Signal(str)  # what the detection said to check (anatomy on a scan): the notice bar

    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.proposal: Proposal | None = None
        self.step: Any = None
        self.just_finished = False
        self.found: Detection | None = None  # the core detection behind the proposal
        self._doc = None
        # This proposal's steps (weakly: the history owns them), by id; each holds its threshold.
        self._steps: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.recording = False  # a step of the proposal is being recorded: it is not an undo
        self._label = LABEL  # the name of the proposal's latest undo step
        controller.session.document_changed.connect(self.forget_if_stale)

    def propose(self, doc, proposal: Proposal, found: Detection) -> None:
        self._doc, self.step, self.proposal, self.found = doc, None, proposal, found
        self._label = LABEL
        self._steps = weakref.WeakValueDictionary()
        self.just_finished = True

    def label(self, replacing: bool) -> str:
        """The name of the proposal's next undo step: the detection's own, kept by the slider's moves
        while that step is the latest (`replacing` it); a move after other edits is a step of its own,
        named for the slider (walk-through 45 read "Undid detect damage" for one)."""
        if self.step is not None and not replacing:
            self._label = SENSITIVITY
        return self._label

    def shown(self, step: Any) -> None:
        """`step`, the undo step just recorded, shows the proposal at its present threshold."""
        if step is not None and self.proposal is not None:
            step.threshold = self.proposal.threshold
            self._steps[id(step)] = step

    def shown_threshold(self) -> float | None:
        """The threshold of this proposal's step in effect (the latest not undone), None without one
        (a step of an earlier detection does not count)."""
        found = None
        for entry in self.controller.history.entries():
            if self._steps.get(id(entry.payload)) is entry.payload:
                found = entry.payload.threshold
        return found

    def sync(self) -> None:
        """After an undo or redo: the proposal's threshold is that of its step in effect (the slider
        showed the undone one's)."""
        shown = self.shown_threshold() if self.showing() and not self.recording else None
        if shown is not None:
            self.proposal.threshold = shown

    def set_threshold(self, threshold: float) -> None:
        """The sensitivity slider: re-threshold, keeping the person's edits and the single undo step."""
        if self.proposal is None:
            return
        shown_at = self.shown_threshold()
        self._show(
            self.proposal.masks(threshold, self.current_masks(), self.swept(), shown_at, self.brushed())
        )

    def painted(self, mask: np.ndarray | None) -> np.ndarray | None:
        """`mask` (the workspace's mask now) less what the proposal shown in it put there and the
        person left as it was: what a new detection keeps as painted. A second detection replaces
        the first's proposal (a walk-through unticked Signatures, or picked another detector, and
        detected again: the first proposal's marks all stayed)."""
        if mask is None or not self.showing():
            return mask
        proposal = self.edited()
        own = proposal.detected & ~proposal.added
        return np.where(own, 0, mask).astype(np.asarray(mask).dtype)

    def edited(self) -> Proposal:
        """The proposal shown, with the person's edits now in effect taken in (`Proposal.masks`)."""
        self.proposal.masks(None, self.current_masks(), self.swept(), self.shown_threshold(), self.brushed())
        return self.proposal

    def _show(self, masks: np.ndarray) -> None:
        """Put `masks` in the workspace's mask as the proposal's undo step (`self.step`)."""
        raise NotImplementedError

    def _record_step(self, record: Any) -> None:
        """`record()` records the proposal's step and returns it; while it does, what the history's
        signals trigger is no undo (`sync` leaves the threshold alone)."""
        self.recording = True
        try:
            self.step = record()
            self.shown(self.step)
        finally:
            self.recording = False

    def current_masks(self) -> np.ndarray:
        """The workspace's mask as it is now, in the proposal's shape."""
        raise NotImplementedError

    def swept(self) -> np.ndarray | None:
        """Where the eraser's edits now in effect passed, in the proposal's shape (None: nowhere)."""
        raise NotImplementedError

    def brushed(self) -> np.ndarray | None:
        """Where the painting edits now in effect passed, in the proposal's shape (None: nowhere)."""
        raise NotImplementedError

    def showing(self) -> bool:
        """Whether the proposal is in the mask now: its document shown (not a repair of it) and a
        step of it in effect (not undone). Only then does its sensitivity act."""
        if self.proposal is None or self.controller.doc is not self._doc:
            return False
        return self.shown_threshold() is not None

    def repaired(self) -> bool:
        """Whether a repair of the document it scored is shown, also after further repairs: its
        sensitivity acts again when they are undone. (Not when the document shown is another: after
        a detection on a repair, undone back to the original, a walk-through saw the note stay.)"""
        if self.proposal is None:
            return False
        repairs = [e.payload for e in self.controller.history.entries()]
        made = {id(r.after): r.before for r in repairs if hasattr(getattr(r, "after", None), "provenance")}
        doc = self.controller.doc
        while id(doc) in made and doc is not self._doc:  # back through the repairs in effect
            doc = made[id(doc)]
        return doc is self._doc and doc is not self.controller.doc

    def origin(self, mask: np.ndarray) -> Provenance | None:
        """The provenance step saying that `mask` (what a repair is about to fill) started from this
        detection, or None when it did not: no proposal for the open document, or none of the
        detector's pixels left in the mask (it was cleared or undone and painted anew)."""
        from dataclasses import replace

        if not self.showing():  # no proposal for this document, or its detection undone
            return None
        p = self.edited()
        if not (p.detected & ~p.erased & (np.asarray(mask) > 0)).any():
            return None
        found = replace(self.found, threshold=p.threshold)  # the sensitivity the person left it at
        edited = bool(p.added.any() or p.erased.any())
        from core.io.provenance import source_of

        return found.provenance(np.asarray(mask) > 0, source_of(self._doc), edited=edited)

    def forget_if_stale(self, another: bool = True) -> None:
        """Another document opened: the proposal goes. New pixels of this one (a repair, or its undo)
        keep it, so undoing a repair brings the detection back with its sensitivity."""
        if another and self.proposal is not None:
            self.proposal, self.step, self._doc, self.found = None, None, None, None
            self._steps = weakref.WeakValueDictionary()
            self.changed.emit()


def with_origin(result: Any, origin: Provenance | None) -> Any:
    """`result` (an image or video document) with the detection its mask came from as the step
    before its repair (core appends exactly one step per repair)."""
    if origin is not None:
        result.provenance = [*result.provenance[:-1], origin, result.provenance[-1]]
    return result
