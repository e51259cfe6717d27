"""The audio view hosted by the main window when an AudioDoc is open.

Waveform and spectrogram share a viewport (wheel to zoom at the pointer, the scroll bar or a sideways
swipe to scroll, F to fit). Select on the waveform (a time span) or on the spectrogram with the time,
rectangle or brush tool; "Detect damage" proposes clicks, dropouts and discontinuities as selections.
"Fill" runs the chosen fill-gap method on a worker thread (progress, Cancel); each fill is one undo
step. Playback plays the clip or the selection with pre-roll, with a play cursor; A/B (X) switches
what is shown and heard between before (A) and after (B) the last fill. Save writes the original's
format, rate, channels and subtype next to it, never over it.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledSlider

from core.documents import AudioDoc
from core.errors import LacunaError
from desktop.audio.edit import History
from desktop.audio.playback import Player
from desktop.audio.views import SpectrogramView, Viewport, WaveformView
from desktop.widgets.progress_panel import ProgressPanel
from desktop.workers import Job

FFT_SIZES = (256, 512, 1024, 2048, 4096)


class AudioPanel(QWidget):
    document_changed = Signal(object)  # the current AudioDoc after a fill, undo or redo
    message = Signal(str)  # one-line status for the window's status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history: History | None = None
        self.selections: list = []
        self.showing_before = False
        self._job: Job | None = None
        self._generation = itertools.count(1)
        self._pending = 0
        self.viewport = Viewport(self)
        self.player = Player(self)
        self._build()
        self._connect()
        self._update_actions()

    # --- public API -------------------------------------------------------------------------------
    def set_document(self, doc: AudioDoc | None) -> None:
        """Show a new recording (its history starts empty)."""
        self.player.stop()
        self.cancel()
        self.history = History(doc) if doc is not None else None
        self.selections = []
        self.showing_before = False
        self.ab_button.setChecked(False)
        if doc is not None:
            _warm_up()
            self.viewport.set_length(doc.samples.shape[0])
            self.viewport.fit(max(self.spectrogram.width(), 1))
            self._load_channels(doc)
        self._show(doc)
        self._update_actions()

    def document(self) -> AudioDoc | None:
        """The current document (after the last fill, whatever A/B shows)."""
        return self.history.doc if self.history is not None else None

    def shown_document(self) -> AudioDoc | None:
        if self.history is None:
            return None
        if self.showing_before:
            return self.history.previous() or self.history.doc
        return self.history.doc

    def set_selections(self, selections) -> None:
        self.selections = [s for s in (selections or []) if s is not None]
        for view in (self.waveform, self.spectrogram):
            view.set_selections(self.selections)
        if not self.selections:
            self.spectrogram.brush = None
        self._update_actions()

    def fill(self, method: str | None = None) -> None:
        """Fill the selections with `method` (the picker's choice by default) on a worker thread."""
        from core.repair import repair
        from core.runtime.context import RunContext

        doc = self.document()
        if doc is None or not self.selections or self.running:
            return
        method = method or self.method_combo.currentData()
        selections = self._with_channels(self.selections)
        ctx = RunContext()
        generation = next(self._generation)
        self._pending = generation
        self._job = Job(
            generation, lambda: repair(doc, "fill-gap", method, mask=selections, ctx=ctx), ctx.cancel_event
        )
        self._job.progress.connect(self._on_progress)
        self._job.finished.connect(self._on_finished)
        self._job.failed.connect(self._on_failed)
        self._job.cancelled.connect(self._on_cancelled)
        self.progress.start(f"Filling with {self.method_combo.currentText()}")
        self._job.start()
        self._update_actions()

    def cancel(self) -> None:
        if self._job is not None and self._job.running:
            self._job.cancel()
        self._pending = 0
        self._job = None
        self._update_actions()

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the running job's thread ends (tests)."""
        return self._job.wait(timeout) if self._job is not None else True

    def undo(self) -> None:
        if self.history is not None and self.history.can_undo() and not self.running:
            self._changed(self.history.undo(), "Undone")

    def redo(self) -> None:
        if self.history is not None and self.history.can_redo() and not self.running:
            self._changed(self.history.redo(), "Redone")

    def set_ab(self, before: bool) -> None:
        """Show and play the document before (A) or after (B) the last fill."""
        self.showing_before = bool(before) and self.history is not None and self.history.can_undo()
        if self.ab_button.isChecked() != self.showing_before:
            self.ab_button.setChecked(self.showing_before)
        self.ab_button.setText("A: before" if self.showing_before else "B: after")
        self.player.stop()
        self._show(self.shown_document())

    def toggle_ab(self) -> None:
        self.set_ab(not self.showing_before)

    def play(self, selection_only: bool = False) -> bool:
        doc = self.shown_document()
        if doc is None:
            return False
        lo, hi = 0, doc.samples.shape[0]
        if selection_only and self.selections:
            lo = min(s.span[0] for s in self.selections)
            hi = max(s.span[1] for s in self.selections)
            lo = max(0, lo - int(self.preroll.value() * doc.sample_rate))
            hi = min(doc.samples.shape[0], hi + int(0.5 * doc.sample_rate))
        return self.player.play(doc.samples[lo:hi], doc.sample_rate, offset=lo)

    def stop(self) -> None:
        self.player.stop()

    def default_save_path(self) -> Path | None:
        doc = self.document()
        if doc is None or doc.path is None:
            return None
        src = Path(doc.path)
        candidate, n = src.with_name(f"{src.stem}_filled{src.suffix}"), 2
        while candidate.exists():
            candidate, n = src.with_name(f"{src.stem}_filled_{n}{src.suffix}"), n + 1
        return candidate

    def save_to(self, path: str | Path) -> Path | None:
        """Write the current document in its original format, rate, channels and subtype."""
        import core.io

        doc = self.document()
        if doc is None:
            return None
        path = Path(path)
        if doc.path is not None and path.resolve() == Path(doc.path).resolve():
            self._say("Lacuna never overwrites the original: choose another name.")
            return None
        try:
            written = Path(core.io.write(doc, path))
        except LacunaError as exc:
            self._say(str(exc))
            return None
        self._say(f"Saved {written.name}")
        return written

    # --- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)

        bar1 = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Play the whole clip (Space)")
        self.play_sel_button = QPushButton("▶ Selection")
        self.play_sel_button.setToolTip("Play the selection with pre-roll")
        self.stop_button = QPushButton("■ Stop")
        self.preroll = QDoubleSpinBox()
        self.preroll.setRange(0.0, 10.0)
        self.preroll.setSingleStep(0.5)
        self.preroll.setValue(1.0)
        self.preroll.setSuffix(" s pre-roll")
        self.ab_button = QPushButton("B: after")
        self.ab_button.setCheckable(True)
        self.ab_button.setToolTip("Compare before (A) and after (B) the last fill (X)")
        for w in (self.play_button, self.play_sel_button, self.stop_button, self.preroll, self.ab_button):
            bar1.addWidget(w)
        bar1.addSpacing(12)
        bar1.addWidget(QLabel("Select:"))
        self.tool_group = QButtonGroup(self)
        self.tool_buttons = {}
        for tool, text, tip in (
            ("time", "Time", "Drag a time span (all frequencies): a dropout"),
            ("rect", "Rectangle", "Drag a time-frequency rectangle: a whistle, a cough"),
            ("brush", "Brush", "Paint time-frequency bins: clicks, irregular noises"),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            bar1.addWidget(button)
        self.tool_buttons["rect"].setChecked(True)
        self.brush_size = QLabeledSlider(Qt.Orientation.Horizontal)
        self.brush_size.setRange(1, 40)
        self.brush_size.setValue(6)
        self.brush_size.setMaximumWidth(120)
        self.brush_size.setToolTip("Brush radius in pixels")
        bar1.addWidget(self.brush_size)
        bar1.addSpacing(12)
        bar1.addWidget(QLabel("FFT"))
        self.fft_combo = QComboBox()
        for n in FFT_SIZES:
            self.fft_combo.addItem(str(n), n)
        self.fft_combo.setCurrentIndex(FFT_SIZES.index(1024))
        bar1.addWidget(self.fft_combo)
        bar1.addWidget(QLabel("Range"))
        self.range_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.range_slider.setRange(30, 140)
        self.range_slider.setValue(90)
        self.range_slider.setMaximumWidth(140)
        self.range_slider.setToolTip("Dynamic range of the spectrogram (dB)")
        bar1.addWidget(self.range_slider)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole clip (F)")
        bar1.addWidget(self.fit_button)
        bar1.addStretch(1)
        layout.addLayout(bar1)

        bar2 = QHBoxLayout()
        bar2.addWidget(QLabel("Method:"))
        self.method_combo = QComboBox()
        self.method_combo.setMinimumWidth(220)
        bar2.addWidget(self.method_combo)
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Which channels the fill changes")
        bar2.addWidget(self.channel_combo)
        self.fill_button = QPushButton("Fill selection")
        self.fill_button.setToolTip("Fill the selected part from its surroundings")
        self.detect_button = QPushButton("Detect damage")
        self.detect_button.setToolTip("Propose clicks, dropouts and discontinuities as selections")
        self.clear_button = QPushButton("Clear selection")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save beside the original, in its format, rate, channels and subtype")
        for w in (
            self.fill_button,
            self.detect_button,
            self.clear_button,
            self.undo_button,
            self.redo_button,
            self.save_button,
        ):
            bar2.addWidget(w)
        self.status = QLabel()
        self.status.setStyleSheet("color: #a9adb4;")
        bar2.addWidget(self.status, 1)
        layout.addLayout(bar2)

        self.waveform = WaveformView(self.viewport)
        self.spectrogram = SpectrogramView(self.viewport)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.waveform)
        splitter.addWidget(self.spectrogram)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter, 1)
        self.scroll = QScrollBar(Qt.Orientation.Horizontal)
        layout.addWidget(self.scroll)
        self.progress = ProgressPanel(self)
        layout.addWidget(self.progress)
        self._load_methods()

    def _load_methods(self) -> None:
        from core.methods import methods

        self.method_combo.clear()
        for card in methods("fill-gap"):
            label = card.name + ("" if card.available else " (not installed)")
            self.method_combo.addItem(label, card.id)
            index = self.method_combo.count() - 1
            self.method_combo.setItemData(index, card.description, Qt.ItemDataRole.ToolTipRole)
            if not card.available:
                self.method_combo.model().item(index).setEnabled(False)
        for i in range(self.method_combo.count()):
            if self.method_combo.model().item(i).isEnabled():
                self.method_combo.setCurrentIndex(i)
                break

    def _load_channels(self, doc: AudioDoc) -> None:
        self.channel_combo.clear()
        self.channel_combo.addItem("All channels", None)
        names = ["Left", "Right"] if doc.channels == 2 else [f"Channel {c + 1}" for c in range(doc.channels)]
        if doc.channels > 1:
            for c, name in enumerate(names):
                self.channel_combo.addItem(name, (c,))
        self.channel_combo.setVisible(doc.channels > 1)

    def _connect(self) -> None:
        self.play_button.clicked.connect(lambda: self.play(False))
        self.play_sel_button.clicked.connect(lambda: self.play(True))
        self.stop_button.clicked.connect(self.stop)
        self.ab_button.toggled.connect(self.set_ab)
        for tool, button in self.tool_buttons.items():
            button.toggled.connect(lambda on, t=tool: on and self.spectrogram.set_tool(t))
        self.brush_size.valueChanged.connect(lambda v: setattr(self.spectrogram, "brush_radius", float(v)))
        self.fft_combo.currentIndexChanged.connect(
            lambda _i: self.spectrogram.set_fft(self.fft_combo.currentData())
        )
        self.range_slider.valueChanged.connect(lambda v: self.spectrogram.set_range(float(v)))
        self.fit_button.clicked.connect(lambda: self.viewport.fit(self.spectrogram.width()))
        self.fill_button.clicked.connect(lambda: self.fill())
        self.detect_button.clicked.connect(self.detect)
        self.clear_button.clicked.connect(lambda: self.set_selections([]))
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.save_button.clicked.connect(self._save_dialog)
        self.progress.cancel_requested.connect(self.cancel)
        self.waveform.selection_made.connect(self._on_selection)
        self.spectrogram.selection_made.connect(self._on_selection)
        self.viewport.changed.connect(self._sync_scroll)
        self.scroll.valueChanged.connect(self._on_scroll)
        self.player.position_changed.connect(self._on_play_position)
        self.player.state_changed.connect(self._on_play_state)
        self.player.error.connect(self._say)
        for key, slot in (
            ("X", self.toggle_ab),
            ("F", lambda: self.viewport.fit(self.spectrogram.width())),
            ("Space", lambda: self.stop() if self.player.playing else self.play(bool(self.selections))),
            ("Escape", self.cancel),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # --- reactions --------------------------------------------------------------------------------
    def _show(self, doc: AudioDoc | None) -> None:
        for view in (self.waveform, self.spectrogram):
            view.set_document(doc)
            view.set_selections(self.selections)
        self._sync_scroll()

    def _changed(self, doc: AudioDoc, text: str) -> None:
        self.showing_before = False
        self.ab_button.blockSignals(True)
        self.ab_button.setChecked(False)
        self.ab_button.setText("B: after")
        self.ab_button.blockSignals(False)
        self._show(doc)
        self._update_actions()
        self._say(text)
        self.document_changed.emit(doc)

    def _on_selection(self, selection) -> None:
        if selection is None:
            self.set_selections([])
            return
        self.set_selections([selection])
        a, b = selection.span
        rate = self.document().sample_rate
        self._say(f"Selected {a / rate:.3f}–{b / rate:.3f} s ({(b - a) / rate * 1000:.0f} ms)")

    def _with_channels(self, selections: list) -> list:
        channels = self.channel_combo.currentData() if self.channel_combo.isVisible() else None
        if channels is None:
            return list(selections)
        import dataclasses

        out = []
        for sel in selections:
            if hasattr(sel, "mask"):
                out.append(type(sel)(sel.mask, sel.start, sel.step, sel.max_hz, channels))
            else:
                out.append(dataclasses.replace(sel, channels=channels))
        return out

    def _on_progress(self, generation: int, report) -> None:
        if generation == self._pending:
            self.progress.report(report)

    def _on_finished(self, generation: int, result) -> None:
        if generation != self._pending or self.history is None:
            return  # a stale reply (the document changed or the job was cancelled)
        self._job = None
        changed = self.history.apply(result, "fill")
        self.progress.finish("Filled" if changed else "Nothing changed", True)
        if changed:
            self._changed(result, f"Filled {len(self.selections)} selection(s)")
        self._update_actions()

    def _on_failed(self, generation: int, exc) -> None:
        if generation != self._pending:
            return
        self._job = None
        text = str(exc) if isinstance(exc, LacunaError) else f"The fill failed: {exc}"
        self.progress.finish(text, False)
        self._say(text)
        self._update_actions()

    def _on_cancelled(self, generation: int) -> None:
        if generation == self._pending:
            self._job = None
            self.progress.finish("Cancelled: the recording is unchanged", False)
        self._update_actions()

    def detect(self) -> None:
        """Propose damaged spans (clicks, dropouts, discontinuities) as the selection."""
        from core.audio.detect import detect

        doc = self.shown_document()
        if doc is None:
            return
        found = detect(doc.samples, doc.sample_rate)
        self.set_selections([d.selection for d in found])
        kinds = {}
        for d in found:
            kinds[d.kind] = kinds.get(d.kind, 0) + 1
        summary = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in kinds.items()) or "no damage found"
        self._say(f"Detected: {summary}")

    def _on_play_position(self, sample: int) -> None:
        for view in (self.waveform, self.spectrogram):
            view.set_cursor(sample)

    def _on_play_state(self, playing: bool) -> None:
        if not playing:
            for view in (self.waveform, self.spectrogram):
                view.set_cursor(None)
        self.stop_button.setEnabled(playing)

    def _sync_scroll(self) -> None:
        vp = self.viewport
        page = int(vp.width * vp.spp)
        self.scroll.blockSignals(True)
        self.scroll.setRange(0, max(0, vp.length - page))
        self.scroll.setPageStep(max(1, page))
        self.scroll.setSingleStep(max(1, page // 10))
        self.scroll.setValue(int(vp.start))
        self.scroll.blockSignals(False)

    def _on_scroll(self, value: int) -> None:
        self.viewport.scroll_to(value)

    def _save_dialog(self) -> None:
        default = self.default_save_path()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the result (the original is never overwritten)", str(default or "")
        )
        if path:
            self.save_to(path)

    def _update_actions(self) -> None:
        has_doc = self.history is not None
        busy = self.running
        self.fill_button.setEnabled(has_doc and bool(self.selections) and not busy)
        self.detect_button.setEnabled(has_doc and not busy)
        self.clear_button.setEnabled(bool(self.selections))
        self.undo_button.setEnabled(has_doc and self.history.can_undo() and not busy)
        self.redo_button.setEnabled(has_doc and self.history.can_redo() and not busy)
        self.ab_button.setEnabled(has_doc and self.history.can_undo())
        self.save_button.setEnabled(has_doc)
        self.play_sel_button.setEnabled(has_doc and bool(self.selections))
        self.stop_button.setEnabled(self.player.playing)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.message.emit(text)


_warmed = False


def _warm_up() -> None:
    """Import torch and the fill engine on a background thread while the person selects: the first
    fill would otherwise spend seconds importing them."""
    global _warmed
    if _warmed:
        return
    _warmed = True

    def work() -> None:
        import core.audio.fill  # noqa: F401
        import core.audio.phase  # noqa: F401

    threading.Thread(target=work, name="lacuna-audio-warm-up", daemon=True).start()
