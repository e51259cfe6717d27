"""The audio workspace: recordings shown as waveform and spectrogram, gaps and noises filled.

Its views: the `AudioPanel` in the middle and a Repair dock (the shared method picker with the
fill-gap methods and their parameters, and the shared progress panel) and a History dock (the repairs
done to this recording). Fills, Detect dropouts / Fill all, undo and A/B are the `AudioController`'s;
saving, naming and the unsaved-change prompt are the session's and the shell's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.widgets.method_picker import MethodPicker
from desktop.widgets.progress_panel import ProgressPanel
from desktop.workspace import Context, JobWorkspace
from desktop.workspaces.audio.controller import AudioController
from desktop.workspaces.audio.freq_scale import SCALES
from desktop.workspaces.audio.history_panel import RepairHistoryPanel
from desktop.workspaces.audio.panel import AudioPanel
from desktop.workspaces.audio.repair_log import repair_records

TRACE_FILTER = "Loss traces (*.txt);;All (*)"
SELECT_FIRST = "Select the damaged part first: drag on the waveform or the spectrogram."


class AudioWorkspace(JobWorkspace):
    def __init__(self, context: Context):
        super().__init__(context)
        self.controller = AudioController(self.session, self.settings, self)
        self.panel = AudioPanel(self.controller)
        repair = QWidget()
        layout = QVBoxLayout(repair)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picker, self.progress = MethodPicker(), ProgressPanel()
        self.picker.run_button.setText("Fill selection")
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.progress)
        self.repair_dock = self.dock("Fill", repair, Qt.DockWidgetArea.RightDockWidgetArea, "audio-repair")
        self.action("View", "&Fit to Window", self.panel.fit, ["F"])
        self.action("View", "&Play / Stop", self.panel.play_or_stop, ["Space"])
        self._scale_actions()
        self.action("Repair", "&Fill Selection", self.picker.request_run, ["Ctrl+Return", "Ctrl+Enter"])
        self.action("Repair", "&Detect Damage", self.controller.detect)
        self.action("Repair", "Detect Drop&outs", self.controller.detect_dropouts)
        self.action("Repair", "Load &Loss Trace…", self.load_loss_trace_dialog)
        self.action("Repair", "Fill &All Selected", self.picker.request_run)
        self._picked_for_packets: str | None = None  # the method Detect dropouts picked, not the person
        self.history_panel = RepairHistoryPanel()
        self.history_dock = self.dock(
            "History", self.history_panel, Qt.DockWidgetArea.RightDockWidgetArea, "audio-history"
        )
        self._connect()
        self.picker.set_waiting_for(SELECT_FIRST)

    def _connect(self) -> None:
        c, jobs = self.controller, self.controller.jobs
        c.error.connect(self.error)
        c.status.connect(self.status)
        c.shown_changed.connect(self.changed)
        c.shown_changed.connect(self._show_history)
        # greyed like the panel's Fill buttons while nothing is selected (walk-through 53)
        c.shown_changed.connect(lambda: self.picker.set_waiting_for("" if c.selections else SELECT_FIRST))
        c.dropouts_found.connect(self._on_dropouts_found)
        c.packets_marked.connect(self._on_packets_marked)
        c.warning.connect(self.warning)
        # the panel's own line said the last fill or undo after a save (a walk-through)
        self.session.saved.connect(lambda path: self.panel.show_status(f"Saved {Path(path).name}"))
        self.panel.trace_requested.connect(self.load_loss_trace_dialog)
        self.history_panel.show_span.connect(self.panel.viewport.reveal)
        self.panel.fill_requested.connect(self.picker.request_run)
        self.picker.run_requested.connect(self._fill)
        self.progress.cancel_requested.connect(c.cancel)
        jobs.started.connect(self._on_started)
        jobs.progress.connect(self.progress.report)
        jobs.succeeded.connect(lambda text: self._on_ended(text, True))
        jobs.failed.connect(lambda text: self._on_ended(text, False))
        jobs.failed.connect(self.error)
        jobs.cancelled.connect(lambda text: self._on_ended(text, False))

    def _scale_actions(self) -> None:
        """View ▸ Frequency scale: linear, log or mel (the same choice as the audio toolbar's)."""
        self.separator("View")
        group = QActionGroup(self)
        self.scale_actions = {}
        for kind in SCALES:
            name = f"Frequency Scale: {kind.capitalize()}"
            action = self.action("View", name, lambda _on, k=kind: self.panel.set_scale(k), checkable=True)
            group.addAction(action)
            self.scale_actions[kind] = action
        self.panel.scale_changed.connect(self._on_scale)
        saved = self.settings.get("audio/frequency_scale")
        self.panel.set_scale(saved if saved in SCALES else "linear")
        self._on_scale(self.panel.spectrogram.scale_kind)

    def _on_scale(self, kind: str) -> None:
        self.scale_actions[kind].setChecked(True)
        self.settings.set("audio/frequency_scale", kind)

    @property
    def view(self) -> QWidget:
        return self.panel

    def show_document(self, new: bool) -> None:
        if not new:
            return  # a fill or an undo: the controller has already shown it
        self.controller.show_new_document()
        self.panel.show_new_document()
        self.progress.hide_panel()  # the last recording's outcome is not this one's
        if new:
            from core.methods import methods

            if self.picker.current_method() == self._picked_for_packets:  # picked for the last call
                self.picker.tree.setCurrentItem(None)  # so the list starts on its default again
            self._picked_for_packets = None
            self.picker.set_cards(methods("fill-gap"), kind="audio")

    def _show_history(self) -> None:
        c = self.controller
        rate = c.doc.sample_rate if c.doc is not None else 1
        self.history_panel.set_records(repair_records(c.opened_provenance, c.fills(), rate), rate)

    def describe(self) -> str:
        """What the status bar says of the recording opened; a call's loss trace beside it is
        offered (not applied unasked)."""
        from core.audio.loss_trace import trace_beside

        doc = self.controller.doc
        if doc is None:
            return ""
        said = f"{doc.duration:.1f} s, {doc.sample_rate} Hz, {doc.channels} channel(s)"
        if doc.path is not None and trace_beside(doc.path).is_file():
            said += f"; its loss trace {trace_beside(doc.path).name} lies beside it (Loss trace… selects it)"
        return said

    def _on_dropouts_found(self, found: list) -> None:
        """Say what Detect dropouts selected; lost packets of a call get the speech concealment picked,
        unless the person has picked a method of their own."""
        from core.audio.detect import packet_grid_ms

        c = self.controller
        if not found or c.doc is None:
            c.status.emit("No dropouts found")
            return
        lost = sum(d.selection.stop - d.selection.start for d in found) / c.doc.sample_rate
        text = f"Detected {len(found)} dropout(s), {lost * 1000:.0f} ms"
        grid = packet_grid_ms(found, c.doc.sample_rate)
        if grid:
            text += f" on a {grid:g} ms packet grid, a call's lost packets"
            picked = self._pick_for_packets()
            text += f": {picked} picked" if picked else ""
        c.status.emit(f"{text}; Fill all fills them")

    def _on_packets_marked(self, told: str) -> None:
        picked = self._pick_for_packets()
        self.controller.status.emit(f"{told}{f'; {picked} picked' if picked else ''}; Fill all fills them")

    def _pick_for_packets(self) -> str:
        """Pick the speech concealment for a call's lost packets, unless the person picked a method of
        their own; the name of the method picked ('' when none was)."""
        from core.audio.detect import LOST_PACKETS_METHOD
        from core.methods import get_method

        card, speech = self.picker.current_card(), get_method(LOST_PACKETS_METHOD).card
        own_pick = card is not None and not card.default and card.id != self._picked_for_packets
        if speech.available and not own_pick and self.picker.select(speech.id):
            self._picked_for_packets = speech.id
            return speech.name
        return ""

    def load_loss_trace_dialog(self) -> None:
        """Repair ▸ Load Loss Trace…: a file dialog in the recording's folder, on its own trace
        (NAME_is_lost.txt) when one lies there."""
        from PySide6.QtWidgets import QFileDialog

        from core.audio.loss_trace import trace_beside

        doc = self.controller.doc
        if doc is None:
            return
        trace = trace_beside(doc.path) if doc.path is not None else None
        where = "" if trace is None else str(trace if trace.is_file() else trace.parent)
        path, _ = QFileDialog.getOpenFileName(
            self.context.window, "Load loss trace (one 0/1 line per packet)", where, TRACE_FILTER
        )
        if path:
            self.controller.load_loss_trace(path)

    def _fill(self, task: str, method: str, params: dict, _options: dict) -> None:
        if not self.controller.selections:  # Ctrl+Return, whose action stays enabled
            self.error.emit(SELECT_FIRST)
            return
        card = self.picker.current_card()
        title = f"Filling with {card.name}" if card is not None else ""
        self.controller.fill(method, params, self.panel.channels(), title)

    def set_compare(self, before: bool) -> None:
        self.panel.set_ab(before)

    def deactivate(self) -> None:
        self.panel.stop()
        self.controller.jobs.drop()

    def shutdown(self, timeout: float) -> bool:
        self.panel.stop()
        return self.controller.shutdown(timeout)
