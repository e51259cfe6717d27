"""The "Detect damage" box of the image and video workspaces: method, its switches, the button, the
sensitivity, and how it is wired to a workspace's detection (`connect_panel`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
)


class DetectPanel(QGroupBox):
    """The Mask dock's "Detect damage" box: method, the button with its Options, the sensitivity."""

    def __init__(self, parent=None):
        super().__init__("Detect damage", parent)
        layout = QVBoxLayout(self)
        self.method = QComboBox()
        self.method.setToolTip("How to find damage: the learned detector, or the classical ones")
        # The chosen method's on/off parameters, in a menu beside the button: as check boxes they
        # made the dock too tall for a 768-pixel screen (a walk-through).
        self.switches: dict[str, QAction] = {}
        self.switches_of = ""  # the id of that method: a refill of the list keeps what was ticked
        self._ticked: dict[str, dict[str, bool]] = {}  # each method's switches as last set
        self.options = QToolButton()
        self.options.setText("Options")
        self.options.setToolTip("The detector's switches")
        self.options.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._menu = QMenu(self.options)
        self._menu.setToolTipsVisible(True)
        self.options.setMenu(self._menu)
        self.button = QPushButton("Detect damage")
        self.button.setToolTip("Propose scratches, creases, dust and stains as an editable mask")
        self.button.setEnabled(False)  # until a document is open
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(0, 99)  # 100 would be threshold 0: every pixel
        self.sensitivity.setValue(50)  # at rest mid-way, not at the strict end (a walk-through)
        self.sensitivity.setToolTip("Higher finds more (and more that is not damage)")
        self.sensitivity.setEnabled(False)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.sensitivity_label = QLabel()
        self.sensitivity.valueChanged.connect(self.show_sensitivity)
        self.show_sensitivity()
        layout.addWidget(self.method)
        row = QHBoxLayout()
        row.addWidget(self.button, 1)
        row.addWidget(self.options)
        layout.addLayout(row)
        layout.addWidget(self.sensitivity_label)
        layout.addWidget(self.sensitivity)
        layout.addWidget(self.note)

    def show_switches(self, card) -> None:
        """A checkable entry of the Options menu for each on/off parameter of `card` (the method
        chosen; None: none), as last set for that method (its default the first time); the
        sensitivity slider stands for the threshold, so only switches are offered here."""
        if self.switches_of:  # kept for when that method is chosen again (a walk-through lost them)
            self._ticked[self.switches_of] = self.params()
        self.switches_of = card.id if card is not None else ""
        ticked = self._ticked.get(self.switches_of, {})
        self._menu.clear()
        self.switches.clear()
        for param in card.params if card is not None else ():
            if isinstance(param.default, bool):
                switch = self._menu.addAction(param.name.replace("_", " ").capitalize())
                switch.setCheckable(True)
                switch.setChecked(ticked.get(param.name, param.default))
                switch.setToolTip(param.help[:1].upper() + param.help[1:])
                self.switches[param.name] = switch
        self.options.setVisible(bool(self.switches))

    def params(self) -> dict[str, Any]:
        """The switches' values, as `detect` takes them."""
        return {name: box.isChecked() for name, box in self.switches.items()}

    def show_sensitivity(self, *_args) -> None:
        """The slider's number beside its name, and the detector's threshold it stands for."""
        if not self.sensitivity.isEnabled():  # nothing detected yet: no setting to show
            self.sensitivity_label.setText("Sensitivity")
            self.sensitivity_label.setToolTip("Detect damage first; then this re-thresholds its proposal")
            return
        value = self.sensitivity.value()
        self.sensitivity_label.setText(f"Sensitivity {value}")
        self.sensitivity_label.setToolTip(
            f"Detection threshold {self.threshold_of(value):.2f}: the mask shows what Repair fills, the"
            " marks found from there widened over whole scratches and stains"
        )

    @staticmethod
    def threshold_of(value: int) -> float:
        return 1.0 - value / 100.0

    @staticmethod
    def value_of(threshold: float) -> int:
        return int(round((1.0 - threshold) * 100))


def _suits_open_document(method_id: str, doc) -> bool:
    """Whether detector `method_id` may be trusted on `doc` (core.methods.modality.suits)."""
    from core.methods import get_method
    from core.methods.modality import modality_of, suits

    return doc is None or suits(get_method(method_id).card, modality_of(doc))


def connect_panel(workspace, panel: DetectPanel, detection, picture: Callable[[], str]) -> Callable[[], None]:
    """Wire `panel` and an Edit > Detect Damage action to `detection`, the workspace's own (it has
    `methods()`, `run(method)`, `set_threshold(t)`, `proposal`, `changed`, `proposed_fraction()` and
    `just_finished`; its controller `jobs`, `doc` and `busy`). `picture()` names what the note counts
    in the document open ("image", "slice", "frame"). Returns the refresh of the method list, for
    when a document opens."""
    from superqt.utils import signals_blocked

    from core.detect.run import what_to_check

    c = workspace.controller

    def fill_methods(new: bool = False) -> None:
        """Refill the method list; `new`: a document just opened, which the kept choice may not suit."""
        chosen = panel.method.currentData()  # kept: the list is refilled after every job
        if new and chosen and not _suits_open_document(chosen, c.doc):
            chosen = None  # the engine's choice, listed first (a photo network is not run on a scan)
        with signals_blocked(panel.method):
            panel.method.clear()
            for method_id, name in detection.methods():
                # The dock is narrow: the name without its parenthesis, the whole name as the tip.
                panel.method.addItem(name.split(" (")[0], method_id)
                panel.method.setItemData(panel.method.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
            if panel.method.findData(chosen) >= 0:
                panel.method.setCurrentIndex(panel.method.findData(chosen))
        if panel.method.currentData() != panel.switches_of:
            show_switches()
        panel.button.setEnabled(c.doc is not None and panel.method.count() > 0 and not c.busy)

    def show_switches(*_args) -> None:
        from core.methods import get_method

        method_id = panel.method.currentData()
        panel.show_switches(get_method(method_id).card if method_id else None)

    def run() -> None:
        detection.run(panel.method.currentData(), panel.params())

    was_showing = [False]

    def on_changed(*_args) -> None:
        detection.sync()  # an undo or redo: the slider shows the threshold of the step in effect
        proposal = detection.proposal if detection.showing() else None
        if proposal is not None and not was_showing[0] and not detection.just_finished:
            workspace.set_show_mask(True)  # back by an undo (of a repair): shown to edit again
        was_showing[0] = proposal is not None
        panel.sensitivity.setEnabled(proposal is not None)
        if proposal is not None:
            with signals_blocked(panel.sensitivity):
                panel.sensitivity.setValue(panel.value_of(proposal.threshold))
            # The mask Repair fills: the proposal widened over whole marks (lacuna detect --for-repair)
            note = f"{detection.proposed_fraction() * 100:.2f}% of the {picture()} marked to repair"
            if picture() == "slice":  # a volume: one detection proposes on all of it
                note += "; every slice was scored and has its own proposal"
            check = what_to_check(detection.found.method, c.doc) if detection.found is not None else ""
            if check:  # where the person acts, not only in the method's card (walk-through 45)
                note += f". Check it before Repair: {check}."
            panel.note.setText(note)
        elif detection.repaired():  # why the slider went grey (a walk-through wondered)
            panel.note.setText("Repaired: undo the repair to change this detection, or detect again")
        else:
            panel.note.setText("")
        panel.show_sensitivity()  # its value was set with signals blocked

    def pick_inpainting() -> str:
        """After a detection, the document's inpainting picked to fill it, unless a method that uses
        the mask is picked already (a walk-through's Repair ran frame interpolation, which ignores
        it); what was picked, said for the status line, or '' when the pick stays."""
        from core.methods import default_method
        from core.methods.modality import modality_of, slice_count, slices_showing

        if c.doc is None:
            return ""
        card = workspace.picker.current_card()
        # On a volume, core's rule: when the detection marked some place on every slice, filling from
        # the neighbouring slices cannot work (it refused), and a slice's own inpainting is picked.
        series = (slice_count(c.doc) or 1) > 1
        frames = slices_showing(c.doc, detection.current_masks()) if series else 1
        unseen = card is not None and card.operates_on == "volume" and frames < 2
        if card is not None and card.needs_mask and not unseen:
            return ""
        chosen = default_method("inpaint", modality_of(c.doc), frames=frames).card
        if not (chosen.available and workspace.picker.select(chosen.id)):
            return ""
        if series and frames < 2:  # why not the series' own inpainting (the CLI says it)
            return f"{chosen.name} picked: no other slice shows what some marks hide"
        return f"{chosen.name} picked"

    def on_job_done(_text: str) -> None:
        if detection.just_finished:  # repairs hide the mask when they finish; a detection shows it
            detection.just_finished = False
            workspace.set_show_mask(True)
            picked = pick_inpainting()
            then = f"Repair ({picked})" if picked else "Repair"
            workspace.status.emit(f"Damage proposed as the mask: brush or erase it, then {then}.")

    panel.method.currentIndexChanged.connect(show_switches)
    panel.button.clicked.connect(run)
    panel.sensitivity.valueChanged.connect(lambda v: detection.set_threshold(panel.threshold_of(v)))
    detection.changed.connect(on_changed)
    detection.noted.connect(workspace.warning)
    workspace.session.history_changed.connect(on_changed)  # an undone detection has no sensitivity
    c.jobs.started.connect(lambda _title: panel.button.setEnabled(False))
    c.jobs.succeeded.connect(on_job_done)
    for signal in (c.jobs.succeeded, c.jobs.failed, c.jobs.cancelled):
        signal.connect(lambda _text: fill_methods())
    workspace.action("Edit", "&Detect Damage", run, ["Ctrl+Shift+D"])
    return fill_methods
