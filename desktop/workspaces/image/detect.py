"""Detect damage in the image workspace: the proposal becomes the mask, editable like a painted one.

"Detect damage" runs a core `detect` method on the worker thread and puts its proposal into the
masks as one undo step (what was painted before stays). The sensitivity slider re-thresholds the
detector's scores live, without running it again and without adding undo steps: the detection's
history entry is replaced while it is the latest one. Brush and eraser work on the proposal as on any
mask, and the slider keeps those edits (`Proposal`). Repair then runs as usual.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QPushButton, QSlider, QVBoxLayout

from desktop.mask_model import MaskEdit

LABEL = "detect damage"


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
    ):
        self.score = np.asarray(score, np.float32)
        self.low_fraction = low_fraction
        self.rule = rule  # a core RepairRule: show the mask Repair should fill, not the bare proposal
        self.threshold = float(threshold)
        self.added = np.zeros(self.score.shape, bool) if before is None else np.asarray(before) > 0
        self.erased = np.zeros(self.score.shape, bool)
        self._shown = self._compose()

    def _compose(self) -> np.ndarray:
        from core.detect.run import propose, repair_mask

        if self.rule is not None:
            found = repair_mask(self.score, self.threshold, self.rule)
        else:
            found = propose(self.score, self.threshold, self.low_fraction)
        return (found | self.added) & ~self.erased

    def masks(self, threshold: float | None = None, current: np.ndarray | None = None) -> np.ndarray:
        """The masks at `threshold` (the last one if None), after taking in the person's edits: what
        `current` (the masks as they are now) shows against what was last proposed."""
        if current is not None:
            now = np.asarray(current) > 0
            painted, rubbed = now & ~self._shown, self._shown & ~now
            self.added = (self.added | painted) & ~rubbed
            self.erased = (self.erased | rubbed) & ~painted
        if threshold is not None:
            self.threshold = float(threshold)
        self._shown = self._compose()
        return np.where(self._shown, 255, 0).astype(np.uint8)


class Detection(QObject):
    """Runs detection for the image controller and keeps the proposal while the document stays."""

    changed = Signal()  # a proposal appeared, changed or was dropped

    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.proposal: Proposal | None = None
        self._edit: MaskEdit | None = None
        self._doc = None
        self.just_finished = False
        controller.document_changed.connect(self._on_document_changed)

    def methods(self) -> list[tuple[str, str]]:
        """(id, name) of the detection methods that can run on the open document."""
        from core.methods import methods

        frames = self.controller.frames
        cards = [c for c in methods("detect") if c.available]
        return [(c.id, c.name) for c in cards if c.operates_on != "volume" or frames > 1]

    def run(self, method: str | None = None) -> bool:
        c = self.controller
        doc = c.doc
        if doc is None:
            c.error.emit("Open an image first.")
            return False
        c.cancel_stroke()
        from core.runtime.context import RunContext

        ctx = RunContext(**c.run_settings())
        before = c.masks.as_array()

        def start():
            from core.detect.run import detect  # imported on the worker: the window never waits

            return detect(doc, method=method, ctx=ctx)

        c.jobs.start(
            "Detect damage", start, lambda found: self._finished(doc, before, found), ctx.cancel_event
        )
        return True

    def _finished(self, doc, before: np.ndarray, found) -> None:
        if self.controller.doc is not doc:
            return
        self._doc = doc
        self._edit = None
        self.proposal = Proposal(found.score, found.threshold, before, found.low_fraction, found.rule)
        self.just_finished = True
        self._show(self.proposal.masks())

    def set_threshold(self, threshold: float) -> None:
        """The sensitivity slider: re-threshold, keeping the person's edits and the single undo step."""
        if self.proposal is None:
            return
        self.controller.cancel_stroke()
        self._show(self.proposal.masks(threshold, self.controller.masks.as_array()))

    def _show(self, masks: np.ndarray) -> None:
        c = self.controller
        top = c.history.peek_undo(c.frame)
        if self._edit is not None and top is not None and top.payload is self._edit:
            # Still the latest step: take it back silently and record the new proposal in its place.
            c.history.pop_undo(top.lane)
            c.masks.apply(self._edit, undo=True)
            if c.session.autosave is not None:
                c.session.autosave.record_step(self._edit, undo=True)
        self._edit = c.masks.replace_all(masks, label=LABEL)
        c.record_edit(self._edit)
        c.mask_changed.emit(c.frame, None)
        self.changed.emit()

    def proposed_fraction(self) -> float:
        mask = self.controller.masks.peek(self.controller.frame)
        return 0.0 if mask is None else float(np.count_nonzero(mask)) / mask.size

    def _on_document_changed(self, _new: bool) -> None:
        if self.proposal is not None and self.controller.doc is not self._doc:
            self.proposal, self._edit, self._doc = None, None, None  # the scores describe other pixels
            self.changed.emit()


class DetectPanel(QGroupBox):
    """The Mask dock's "Detect damage" box: method, the button and the sensitivity slider."""

    def __init__(self, parent=None):
        super().__init__("Detect damage", parent)
        layout = QVBoxLayout(self)
        self.method = QComboBox()
        self.method.setToolTip("How to find damage: the learned detector, or the classical ones")
        self.button = QPushButton("Detect damage")
        self.button.setToolTip("Propose scratches, creases, dust and stains as an editable mask")
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(0, 100)
        self.sensitivity.setToolTip("Higher finds more (and more that is not damage)")
        self.sensitivity.setEnabled(False)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        layout.addWidget(self.method)
        layout.addWidget(self.button)
        layout.addWidget(QLabel("Sensitivity"))
        layout.addWidget(self.sensitivity)
        layout.addWidget(self.note)

    @staticmethod
    def threshold_of(value: int) -> float:
        return 1.0 - value / 100.0

    @staticmethod
    def value_of(threshold: float) -> int:
        return int(round((1.0 - threshold) * 100))


def attach(workspace, panel: DetectPanel) -> Detection:
    """Wire the panel and a "Detect Damage" menu action to a `Detection` of the workspace's controller."""
    from superqt.utils import signals_blocked

    c = workspace.controller
    detection = Detection(c, workspace)

    def fill_methods() -> None:
        with signals_blocked(panel.method):
            panel.method.clear()
            for method_id, name in detection.methods():
                panel.method.addItem(name, method_id)
        panel.button.setEnabled(c.doc is not None and panel.method.count() > 0 and not c.busy)

    def run() -> None:
        detection.run(panel.method.currentData())

    def on_changed() -> None:
        proposal = detection.proposal
        panel.sensitivity.setEnabled(proposal is not None)
        if proposal is not None:
            with signals_blocked(panel.sensitivity):
                panel.sensitivity.setValue(panel.value_of(proposal.threshold))
            panel.note.setText(f"{detection.proposed_fraction() * 100:.2f}% of the slice proposed")
        else:
            panel.note.setText("")

    def on_job_done(_text: str) -> None:
        if detection.just_finished:  # repairs hide the mask when they finish; a detection shows it
            detection.just_finished = False
            workspace.set_show_mask(True)
            workspace.status.emit("Damage proposed as the mask: brush or erase it, then Repair.")

    panel.button.clicked.connect(run)
    panel.sensitivity.valueChanged.connect(lambda v: detection.set_threshold(panel.threshold_of(v)))
    detection.changed.connect(on_changed)
    c.document_changed.connect(lambda new: new and fill_methods())
    c.jobs.started.connect(lambda _title: panel.button.setEnabled(False))
    c.jobs.succeeded.connect(on_job_done)
    for signal in (c.jobs.succeeded, c.jobs.failed, c.jobs.cancelled):
        signal.connect(lambda _text: fill_methods())
    workspace.action("Edit", "&Detect Damage", run, ["Ctrl+Shift+D"])
    return detection
