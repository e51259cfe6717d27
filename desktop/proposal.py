"""A detection's proposal as an editable mask: the image and video workspaces' "Detect damage".

The scores stay; the sensitivity slider re-thresholds them by core's one rule (`core.detect.run.propose`)
while keeping what the person painted or erased since. `Detector` is what each workspace's detection
shares: the proposal of the document it scored, and the undo step that shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from core.detect.run import Detection
    from core.documents import Provenance

LABEL = "detect damage"  # the undo step of a detection


class Proposal:
    """A detection's scores as an editable mask stack (uint8, 255 = repair).

    What was painted before detection stays; pixels painted after it stay whatever the threshold;
    pixels erased after it stay erased.
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
        self.added = np.zeros(self.score.shape, bool) if before is None else np.asarray(before) > 0
        self.erased = np.zeros(self.score.shape, bool)
        # Where the eraser has passed since this detection (its edits in effect, undo taken into
        # account): kept clear whatever the threshold, also where nothing was shown to erase.
        self.swept = np.zeros(self.score.shape, bool)
        self._swept_before = None if swept_before is None else np.asarray(swept_before, bool)
        self.detected: np.ndarray  # the detector's own mask at the threshold, set by _compose
        self._shown = self._compose()

    def _compose(self) -> np.ndarray:
        from core.detect.run import propose, repair_mask

        if self.rule is not None:
            found = repair_mask(self.score, self.threshold, self.rule)
        else:
            found = propose(self.score, self.threshold, self.low_fraction)
        self.detected = found  # what the detector alone proposes now, before the person's edits
        return (found | self.added) & ~self.erased & ~(self.swept & ~self.added)

    def masks(
        self,
        threshold: float | None = None,
        current: np.ndarray | None = None,
        swept: np.ndarray | None = None,
    ) -> np.ndarray:
        """The masks at `threshold` (the last one if None), after taking in the person's edits: what
        `current` (the masks as they are now) shows against what was last proposed, and where the
        eraser's edits in effect passed (`swept`, None: nowhere), which a lower threshold must not
        bring back even where nothing was proposed to erase."""
        if current is not None:
            now = np.asarray(current) > 0
            painted, rubbed = now & ~self._shown, self._shown & ~now
            self.swept = np.zeros(now.shape, bool) if swept is None else np.asarray(swept, bool)
            if self._swept_before is not None:  # erased before this detection: not an edit of it
                self.swept = self.swept & ~self._swept_before
            self.added = (self.added | painted) & ~rubbed
            self.erased = (self.erased | rubbed) & ~painted
        if threshold is not None:
            self.threshold = float(threshold)
        self._shown = self._compose()
        return np.where(self._shown, 255, 0).astype(np.uint8)


class Detector(QObject):
    """A workspace's detection: `proposal` belongs to the document it scored and goes when another
    document is shown; `step` is the undo step showing it, replaced (not added to) while it is the
    latest, so a detection and its sensitivity are one step. `origin` tells a repair whether its mask
    came from the detection, for the result's provenance."""

    changed = Signal()  # a proposal appeared, changed or was dropped

    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.proposal: Proposal | None = None
        self.step: Any = None
        self.just_finished = False
        self.found: Detection | None = None  # the core detection behind the proposal
        self._doc = None

    def propose(self, doc, proposal: Proposal, found: Detection) -> None:
        self._doc, self.step, self.proposal, self.found = doc, None, proposal, found
        self.just_finished = True

    def current_masks(self) -> np.ndarray:
        """The workspace's mask as it is now, in the proposal's shape."""
        raise NotImplementedError

    def swept(self) -> np.ndarray | None:
        """Where the eraser's edits now in effect passed, in the proposal's shape (None: nowhere)."""
        raise NotImplementedError

    def showing(self) -> bool:
        """Whether the proposal is in the mask now (not undone): only then does its sensitivity act."""
        return self.proposal is not None

    def origin(self, mask: np.ndarray) -> Provenance | None:
        """The provenance step saying that `mask` (what a repair is about to fill) started from this
        detection, or None when it did not: no proposal for the open document, or none of the
        detector's pixels left in the mask (it was cleared or undone and painted anew)."""
        from dataclasses import replace

        if self.proposal is None or self.controller.doc is not self._doc:
            return None
        p = self.proposal
        p.masks(None, self.current_masks(), self.swept())  # the strokes made since it was shown
        if not (p.detected & ~p.erased & (np.asarray(mask) > 0)).any():
            return None
        found = replace(self.found, threshold=p.threshold)  # the sensitivity the person left it at
        edited = bool(p.added.any() or p.erased.any())
        from core.io.provenance import source_of

        return found.provenance(np.asarray(mask) > 0, source_of(self._doc), edited=edited)

    def forget_if_stale(self, *_args) -> None:
        if self.proposal is not None and self.controller.doc is not self._doc:
            self.proposal, self.step, self._doc, self.found = None, None, None, None  # other pixels
            self.changed.emit()


def with_origin(result: Any, origin: Provenance | None) -> Any:
    """`result` (an image or video document) with the detection its mask came from as the step
    before its repair (core appends exactly one step per repair)."""
    if origin is not None:
        result.provenance = [*result.provenance[:-1], origin, result.provenance[-1]]
    return result
