"""The audio workspace's central view: waveform and spectrogram, selection tools and playback.

Waveform and spectrogram share a viewport (wheel to zoom at the pointer, the scroll bar or a sideways
swipe to scroll, F to fit). Select on the waveform (a time span) or on the spectrogram with the time,
rectangle or brush tool; "Detect damage" proposes clicks, dropouts and discontinuities as selections.
Playback plays the clip or the selection with pre-roll, with a play cursor; A/B (hold X) switches
what is shown and heard between before (A) and after (B) the last fill; "Difference" plays what the
fills removed or added. "Detect dropouts" selects the lost packets, or "Loss trace…" the packets a
call's loss trace marks, and "Fill all" fills them. The state (selections, fills, their undo) is the
`AudioController`'s; this widget shows it and forwards gestures.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollBar,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel, QLabeledSlider
from superqt.utils import signals_blocked

from core.audio.selection import describe_selection
from core.documents import AudioDoc
from desktop.workspaces.audio.axes import ColourBar, FrequencyAxis
from desktop.workspaces.audio.controller import AudioController
from desktop.workspaces.audio.freq_scale import SCALES
from desktop.workspaces.audio.playback import Player
from desktop.workspaces.audio.spectrogram import SpectrogramView
from desktop.workspaces.audio.views import Viewport, WaveformView

FFT_SIZES = (256, 512, 1024, 2048, 4096)


class AudioPanel(QWidget):
    fill_requested = Signal()  # "Fill selection": run the method chosen in the Repair dock
    trace_requested = Signal()  # "Loss trace…": the workspace asks for the file
    scale_changed = Signal(str)  # the spectrogram's frequency scale: "linear", "log" or "mel"

    def __init__(self, controller: AudioController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.viewport = Viewport(self)
        self.player = Player(self)
        self._build()
        self._connect()
        self.refresh()

    # --- public API -------------------------------------------------------------------------------
    def show_status(self, text: str) -> None:
        """The line beside the buttons; elided when long, so the whole of it is its tooltip."""
        self.status.setText(text)
        self.status.setToolTip(text)

    def show_new_document(self) -> None:
        """A new recording: fit it, offer its channels; nothing said about the last one stays."""
        self.player.stop()
        self.show_status("")
        doc = self.controller.doc
        if doc is not None:
            _warm_up()
            self.viewport.set_length(doc.samples.shape[0])
            self.viewport.fit(max(self.spectrogram.width(), 1))
            self._load_channels(doc)
        self.refresh()

    def refresh(self) -> None:
        """Show the controller's state: the recording (before or after), the selections, the buttons."""
        c = self.controller
        doc = c.shown_document()
        for view in (self.waveform, self.spectrogram):
            view.set_document(doc)
            view.set_selections(c.selections, filled=c.filled and not c.showing_before)
        if not c.selections:
            self.spectrogram.brush = None
        with signals_blocked(self.ab_button):
            self.ab_button.setChecked(c.showing_before)
        self.ab_button.setText("A: before" if c.showing_before else "B: after")
        self._sync_scroll()
        self._update_actions()

    def channels(self) -> tuple[int, ...] | None:
        """The channels a fill changes (None: all)."""
        return self.channel_combo.currentData() if self.channel_combo.isVisible() else None

    def set_ab(self, before: bool) -> None:
        """Show and play the recording before (A) or after (B) the last fill."""
        self.player.stop()
        self.controller.set_ab(before)
        # what is shown now, in place of what the panel said last (a playback error stayed)
        self.show_status("A: before the last fill" if self.controller.showing_before else "B: after it")

    def toggle_ab(self) -> None:
        self.set_ab(not self.controller.showing_before)

    def play(self, selection_only: bool = False) -> bool:
        doc = self.controller.shown_document()
        if doc is None:
            return False
        lo, hi = 0, doc.samples.shape[0]
        selections = self.controller.selections
        if selection_only and selections:
            lo = min(s.span[0] for s in selections)
            hi = max(s.span[1] for s in selections)
            lo = max(0, lo - int(self.preroll.value() * doc.sample_rate))
            hi = min(doc.samples.shape[0], hi + int(0.5 * doc.sample_rate))
        return self.player.play(doc.samples[lo:hi], doc.sample_rate, offset=lo)

    def play_difference(self, against: str = "previous") -> bool:
        """Play what the fills removed or added: the current recording minus the one before the last
        fill ("previous") or the one opened ("original"), with a tenth of a second around it."""
        c = self.controller
        found = c.difference(against)
        if found is None:
            c.status.emit("Nothing was filled yet: there is no difference to play.")
            return False
        diff, start = found
        rate = c.doc.sample_rate
        pad = np.zeros((int(0.1 * rate), diff.shape[1]), diff.dtype)
        peak = float(np.max(np.abs(diff))) if diff.size else 0.0
        what = f"the difference ({against} state), peak {20 * np.log10(max(peak, 1e-9)):.0f} dBFS"
        played = self.player.play(np.concatenate([pad, diff, pad]), rate, offset=start - len(pad))
        # Said after trying, so a machine without sound does not read "Playing" and then "not available".
        c.status.emit(f"Playing {what}" if played else f"Not played: {what}. {self.player.last_error}")
        return played

    def play_or_stop(self) -> None:
        if self.player.playing:
            self.stop()
        else:
            self.play(bool(self.controller.selections))

    def stop(self) -> None:
        self.player.stop()

    def fit(self) -> None:
        self.viewport.fit(self.spectrogram.width())

    def set_scale(self, kind: str) -> None:
        """Show the spectrogram on the linear, log or mel frequency scale."""
        self.scale_combo.setCurrentIndex(SCALES.index(kind))

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
        self.diff_button = QToolButton()
        self.diff_button.setText("▶ Difference")
        self.diff_button.setToolTip(
            "Listen to what the last fill removed or added (the recording minus the one before it); "
            "the arrow offers the difference to the original"
        )
        self.diff_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.diff_button)
        menu.addAction("Difference to the previous state", lambda: self.play_difference("previous"))
        menu.addAction("Difference to the original", lambda: self.play_difference("original"))
        self.diff_button.setMenu(menu)
        self.diff_button.setMinimumWidth(self.diff_button.sizeHint().width() + 18)  # room for the arrow
        bar1_widgets = (self.play_button, self.play_sel_button, self.stop_button, self.preroll)
        for w in (*bar1_widgets, self.ab_button, self.diff_button):
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
        self.brush_size.setMinimumWidth(90)
        self.brush_size.setToolTip("Brush radius in pixels")
        bar1.addWidget(self.brush_size)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole clip (F)")
        bar1.addWidget(self.fit_button)
        bar1.addStretch(1)
        layout.addLayout(bar1)

        bar2 = QHBoxLayout()
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Which channels the fill changes")
        self.channel_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        bar2.addWidget(self.channel_combo)
        self.fill_button = QPushButton("Fill selection")
        self.fill_button.setToolTip(
            "Fill the selected part from its surroundings with the method chosen under Repair"
        )
        self.detect_button = QPushButton("Detect damage")
        self.detect_button.setToolTip("Propose clicks, dropouts and discontinuities as selections")
        self.dropouts_button = QPushButton("Detect dropouts")
        self.dropouts_button.setToolTip(
            "Select every dropout: lost packets (runs of exact zeros) and silences that cut through speech"
        )
        self.trace_button = QPushButton("Loss trace…")
        self.trace_button.setToolTip(
            "Select the packets a loss trace marks lost (one 0/1 line per packet, as a call's"
            " NAME_is_lost.txt)"
        )
        self.fill_all_button = QPushButton("Fill all")
        self.fill_all_button.setToolTip(
            "Fill every selected dropout with the method picked in the Fill panel (one undo step)"
        )
        self.clear_button = QPushButton("Clear selection")
        buttons = (
            self.fill_button,
            self.detect_button,
            self.dropouts_button,
            self.trace_button,
            self.fill_all_button,
        )
        for w in (*buttons, self.clear_button):
            bar2.addWidget(w)
        self.status = QElidingLabel()  # cut with "…" where the bar is too narrow; the tooltip is whole
        self.status.setStyleSheet("color: #a9adb4;")
        # A long message is elided, never widens the window.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar2.addWidget(self.status, 1)
        self._display_controls(bar2)
        layout.addLayout(bar2)

        self.waveform = WaveformView(self.viewport)
        self.spectrogram = SpectrogramView(self.viewport)
        self.frequency_axis = FrequencyAxis(self.spectrogram)
        self.colour_bar = ColourBar(self.spectrogram)
        splitter = QSplitter(Qt.Orientation.Vertical)
        # The waveform keeps the axis' and the colour bar's widths free, so both views share one time axis.
        waveform_row = (_spacer(self.frequency_axis.width()), self.waveform, _spacer(self.colour_bar.width()))
        splitter.addWidget(_row(*waveform_row))
        splitter.addWidget(_row(self.frequency_axis, self.spectrogram, self.colour_bar))
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter, 1)
        self.scroll = QScrollBar(Qt.Orientation.Horizontal)
        layout.addWidget(self.scroll)

    def _display_controls(self, bar: QHBoxLayout) -> None:
        """How the spectrogram is drawn: FFT size, dB range and frequency scale."""
        bar.addSpacing(12)
        bar.addWidget(QLabel("FFT"))
        self.fft_combo = QComboBox()
        for n in FFT_SIZES:
            self.fft_combo.addItem(str(n), n)
        self.fft_combo.setCurrentIndex(FFT_SIZES.index(1024))
        bar.addWidget(self.fft_combo)
        bar.addWidget(QLabel("Range"))
        self.range_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.range_slider.setRange(30, 140)
        self.range_slider.setValue(90)
        self.range_slider.setMaximumWidth(140)
        self.range_slider.setMinimumWidth(110)
        self.range_slider.setToolTip("Dynamic range of the spectrogram (dB)")
        bar.addWidget(self.range_slider)
        bar.addWidget(QLabel("Scale"))
        self.scale_combo = QComboBox()
        for kind in SCALES:
            self.scale_combo.addItem(kind.capitalize(), kind)
        self.scale_combo.setToolTip("Frequency scale of the spectrogram: linear, log or mel")
        bar.addWidget(self.scale_combo)

    def _load_channels(self, doc: AudioDoc) -> None:
        self.channel_combo.clear()
        self.channel_combo.addItem("All channels", None)
        names = ["Left", "Right"] if doc.channels == 2 else [f"Channel {c + 1}" for c in range(doc.channels)]
        if doc.channels > 1:
            for c, name in enumerate(names):
                self.channel_combo.addItem(name, (c,))
        self.channel_combo.setVisible(doc.channels > 1)

    def _connect(self) -> None:
        c = self.controller
        self.play_button.clicked.connect(lambda: self.play(False))
        self.play_sel_button.clicked.connect(lambda: self.play(True))
        self.stop_button.clicked.connect(self.stop)
        self.diff_button.clicked.connect(lambda: self.play_difference("previous"))
        self.ab_button.toggled.connect(self.set_ab)
        for tool, button in self.tool_buttons.items():
            button.toggled.connect(lambda on, t=tool: on and self.spectrogram.set_tool(t))
        self.brush_size.valueChanged.connect(lambda v: setattr(self.spectrogram, "brush_radius", float(v)))
        self.fft_combo.currentIndexChanged.connect(
            lambda _i: self.spectrogram.set_fft(self.fft_combo.currentData())
        )
        self.range_slider.valueChanged.connect(lambda v: self.spectrogram.set_range(float(v)))
        self.scale_combo.currentIndexChanged.connect(self._on_scale)
        self.fit_button.clicked.connect(self.fit)
        self.fill_button.clicked.connect(self.fill_requested)
        self.detect_button.clicked.connect(c.detect)
        self.dropouts_button.clicked.connect(c.detect_dropouts)
        self.trace_button.clicked.connect(self.trace_requested)
        self.fill_all_button.clicked.connect(self.fill_requested)  # the picked method, as Fill selection
        self.clear_button.clicked.connect(lambda: c.set_selections([]))
        self.waveform.selection_made.connect(self._on_selection)
        self.spectrogram.selection_made.connect(self._on_selection)
        self.viewport.changed.connect(self._sync_scroll)
        self.scroll.valueChanged.connect(self.viewport.scroll_to)
        self.player.position_changed.connect(self._on_play_position)
        self.player.state_changed.connect(self._on_play_state)
        self.player.error.connect(c.status)
        c.shown_changed.connect(self.refresh)
        c.status.connect(self.show_status)
        c.jobs.started.connect(self._update_actions)
        for signal in (c.jobs.succeeded, c.jobs.failed, c.jobs.cancelled):
            signal.connect(self._update_actions)

    # --- reactions --------------------------------------------------------------------------------
    def _on_selection(self, selection) -> None:
        c = self.controller
        if selection is None:
            c.set_selections([])
            return
        c.set_selections([selection])
        c.status.emit("Selected " + describe_selection(selection, c.doc.sample_rate))

    def _on_scale(self, _index: int) -> None:
        kind = self.scale_combo.currentData()
        self.spectrogram.set_scale(kind)
        self.scale_changed.emit(kind)

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

    def _update_actions(self, *_args) -> None:
        c = self.controller
        has_doc, busy, selected = c.doc is not None, c.busy, bool(c.selections)
        self.fill_button.setEnabled(has_doc and selected and not busy)
        self.detect_button.setEnabled(has_doc and not busy)
        self.dropouts_button.setEnabled(has_doc and not busy)
        self.trace_button.setEnabled(has_doc and not busy)
        self.fill_all_button.setEnabled(has_doc and selected and not busy)
        self.clear_button.setEnabled(selected)
        self.ab_button.setEnabled(has_doc and c.can_undo())
        self.diff_button.setEnabled(has_doc and bool(c.fills()))
        self.play_sel_button.setEnabled(has_doc and selected)
        self.stop_button.setEnabled(self.player.playing)


def _spacer(width: int) -> QWidget:
    spacer = QWidget()
    spacer.setFixedWidth(width)
    return spacer


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, SpectrogramView | WaveformView) else 0)
    return row


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
