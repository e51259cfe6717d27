"""The audio view end to end: open a shared clip, select on the spectrogram, fill, A/B, undo, save,
reopen. Runs offscreen; playback must degrade to a message without an audio device."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

import core.io
from core.audio.selection import TFMask, TFRect, TimeSpan
from desktop.audio.panel import AudioPanel


@pytest.fixture
def clip(datasets):
    return datasets / "audio" / "bench" / "digits" / "3_yweweler_7.wav"


@pytest.fixture
def panel(qtbot):
    widget = AudioPanel()
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _drag(qtbot, view, start: QPoint, stop: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 6)[1:]:
        point = QPoint(
            int(start.x() + (stop.x() - start.x()) * t), int(start.y() + (stop.y() - start.y()) * t)
        )
        qtbot.mouseMove(view, point)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=stop)


def test_select_fill_ab_undo_save_reopen(qtbot, panel, clip, tmp_path):
    original = core.io.read(clip)
    panel.set_document(original)
    view = panel.spectrogram
    assert view.image() is not None
    w, h = view.width(), view.height()

    # A rectangle over the low half of the spectrogram, 40-55% of the clip's length.
    panel.tool_buttons["rect"].click()
    _drag(qtbot, view, QPoint(int(0.40 * w), int(0.5 * h)), QPoint(int(0.55 * w), h - 2))
    assert len(panel.selections) == 1
    sel = panel.selections[0]
    assert isinstance(sel, TFRect)
    assert sel.high_hz < original.sample_rate / 2 * 0.6
    a, b = sel.span
    assert 0.35 * len(original.samples) < a < b < 0.6 * len(original.samples)

    index = panel.method_combo.findData("fill-gap-ar")
    panel.method_combo.setCurrentIndex(index)
    with qtbot.waitSignal(panel.document_changed, timeout=30000) as changed:
        panel.fill_button.click()
    filled = changed.args[0]
    assert panel.document() is filled
    diff = np.flatnonzero(np.any(filled.samples != original.samples, axis=1))
    assert diff.size > 0
    # Only the frames holding selected bins may change (a 32 ms window around the rectangle).
    margin = 0.032 * original.sample_rate
    assert diff[0] >= a - margin and diff[-1] < b + margin

    # A/B: "A" shows the recording before the fill, "B" the fill.
    panel.toggle_ab()
    assert panel.showing_before
    assert np.array_equal(panel.spectrogram.doc.samples, original.samples)
    panel.toggle_ab()
    assert np.array_equal(panel.spectrogram.doc.samples, filled.samples)

    # Playback offscreen: a message, no exception.
    messages = []
    panel.message.connect(messages.append)
    panel.play(selection_only=True)
    if not panel.player.playing:
        assert messages and "playback" in messages[-1].lower()

    panel.undo()
    assert np.array_equal(panel.document().samples, original.samples)
    panel.redo()
    assert np.array_equal(panel.document().samples, filled.samples)
    panel.undo()

    # Refill with a brush stroke, then save and reopen: same format, rate, channels, subtype.
    panel.tool_buttons["brush"].click()
    _drag(qtbot, view, QPoint(int(0.3 * w), int(0.8 * h)), QPoint(int(0.35 * w), int(0.8 * h)))
    assert isinstance(panel.selections[0], TFMask)
    with qtbot.waitSignal(panel.document_changed, timeout=30000):
        panel.fill()
    assert panel.save_to(clip) is None  # never over the original
    out = panel.save_to(tmp_path / "filled.wav")
    again = core.io.read(out)
    assert (again.sample_rate, again.channels, again.subtype, again.format) == (
        original.sample_rate,
        original.channels,
        original.subtype,
        original.format,
    )
    assert np.max(np.abs(again.samples - panel.document().samples)) <= 1 / 32767


def test_time_selection_on_the_waveform_and_cancel(qtbot, panel, datasets):
    doc = core.io.read(datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
    panel.set_document(doc)
    assert panel.channel_combo.isVisible()  # a stereo clip: fill one channel or both
    wave = panel.waveform
    _drag(qtbot, wave, QPoint(int(0.5 * wave.width()), 10), QPoint(int(0.52 * wave.width()), 20))
    sel = panel.selections[0]
    assert isinstance(sel, TimeSpan) and sel.stop > sel.start
    panel.channel_combo.setCurrentIndex(panel.channel_combo.findText("Right"))
    with qtbot.waitSignal(panel.document_changed, timeout=30000) as changed:
        panel.fill("fill-gap-ar")
    result = changed.args[0].samples
    assert np.array_equal(result[:, 0], doc.samples[:, 0])  # the left channel is untouched
    assert not np.array_equal(result[sel.start : sel.stop, 1], doc.samples[sel.start : sel.stop, 1])

    # Zoom keeps working and a cancelled fill leaves the document as it was.
    before = panel.viewport.spp
    panel.viewport.zoom(4.0, 100)
    assert panel.viewport.spp < before
    panel.set_selections([TimeSpan(sel.start, sel.start + doc.sample_rate // 2)])
    panel.fill("fill-gap-dip")
    panel.cancel()
    panel.wait(30)
    assert panel.document() is changed.args[0]


def test_time_axis_labels_are_never_cut_off_at_the_right_edge(panel, datasets):
    doc = core.io.read(datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg")
    panel.set_document(doc)
    view, rate = panel.spectrogram, doc.sample_rate
    width = view.width()
    # Marks every 0.25 s, with the 3 s mark 8 px from the right edge: too close for "3 s".
    panel.viewport.spp = rate / 432
    panel.viewport.scroll_to(3.0 * rate - (width - 8) * panel.viewport.spp)
    ticks = view.time_ticks()
    metrics = view.fontMetrics()
    assert len(ticks) >= 5
    for x, label in ticks:
        assert not label or x + 3 + metrics.horizontalAdvance(label) <= width
    last_x, last_label = ticks[-1]
    assert last_x == pytest.approx(width - 8, abs=1) and last_label == ""
    assert ticks[0][1].endswith(" s")  # the others keep their labels
