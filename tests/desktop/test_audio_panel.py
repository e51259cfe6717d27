"""The audio workspace end to end in the real window: open a shared clip, select on the spectrogram,
fill, A/B, undo with the shell's keys and menu, save, reopen. Runs offscreen; playback must degrade
to a message without an audio device."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import audio, image, open_file
from PySide6.QtCore import QPoint, Qt

import core.io
from core.audio.selection import TFMask, TFRect, TimeSpan

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def clip(datasets):
    return datasets / "audio" / "bench" / "digits" / "3_yweweler_7.wav"


@pytest.fixture
def trumpet(datasets):
    return datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg"


def _drag(qtbot, view, start: QPoint, stop: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 6)[1:]:
        point = QPoint(
            int(start.x() + (stop.x() - start.x()) * t), int(start.y() + (stop.y() - start.y()) * t)
        )
        qtbot.mouseMove(view, point)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=stop)


def _filled(qtbot, window, clip, method="fill-gap-ar"):
    """The clip opened, a rectangle selected on the spectrogram and filled with `method`."""
    assert open_file(window, clip), window.notice.text()
    ws = audio(window)
    view = ws.panel.spectrogram
    w, h = view.width(), view.height()
    ws.panel.tool_buttons["rect"].click()
    _drag(qtbot, view, QPoint(int(0.40 * w), int(0.5 * h)), QPoint(int(0.55 * w), h - 2))
    assert ws.picker.select(method)
    qtbot.mouseClick(ws.panel.fill_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy, timeout=30_000)
    return ws


def test_select_fill_ab_undo_save_reopen(qtbot, window, clip, tmp_path):
    original = core.io.read(clip)
    assert open_file(window, clip)
    ws = audio(window)
    panel, c = ws.panel, ws.controller
    view = panel.spectrogram
    assert window.active is ws and view.image() is not None
    w, h = view.width(), view.height()

    # A rectangle over the low half of the spectrogram, 40-55% of the clip's length.
    panel.tool_buttons["rect"].click()
    _drag(qtbot, view, QPoint(int(0.40 * w), int(0.5 * h)), QPoint(int(0.55 * w), h - 2))
    assert len(c.selections) == 1
    sel = c.selections[0]
    assert isinstance(sel, TFRect)
    assert sel.high_hz < original.sample_rate / 2 * 0.6
    a, b = sel.span
    assert 0.35 * len(original.samples) < a < b < 0.6 * len(original.samples)

    assert ws.picker.select("fill-gap-ar")
    qtbot.mouseClick(panel.fill_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ws.busy, timeout=30_000)
    filled = c.doc
    assert filled is window.session.doc and filled.provenance[-1].method == "fill-gap-ar"
    diff = np.flatnonzero(np.any(filled.samples != original.samples, axis=1))
    assert diff.size > 0
    # Only the frames holding selected bins may change (a 32 ms window around the rectangle).
    margin = 0.032 * original.sample_rate
    assert diff[0] >= a - margin and diff[-1] < b + margin
    assert ws.progress.bar.value() == 1000

    # A/B: "A" shows the recording before the fill, "B" the fill.
    panel.toggle_ab()
    assert c.showing_before and panel.status.text() == "A: before the last fill"  # the panel's line says it
    assert np.array_equal(panel.spectrogram.doc.samples, original.samples)
    panel.toggle_ab()
    assert np.array_equal(panel.spectrogram.doc.samples, filled.samples)
    assert panel.status.text() == "B: after it"

    # Playback offscreen: a message, no exception.
    messages = []
    c.status.connect(messages.append)
    panel.play(selection_only=True)
    if not panel.player.playing:
        assert messages and "playback" in messages[-1].lower()

    # The shell's Undo/Redo (keys and menu) drive the audio history.
    assert window.undo_action.isEnabled()
    assert window.undo_action.text() == "&Undo fill with Autoregressive (LSAR)"  # names the method
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(c.doc.samples, original.samples) and not window.session.unsaved
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.array_equal(c.doc.samples, filled.samples)
    window.undo_action.trigger()
    assert np.array_equal(c.doc.samples, original.samples)
    window.redo_action.trigger()
    assert np.array_equal(c.doc.samples, filled.samples)
    window.undo_action.trigger()

    # Refill with a brush stroke, then save and reopen: same format, rate, channels, subtype.
    panel.tool_buttons["brush"].click()
    _drag(qtbot, view, QPoint(int(0.3 * w), int(0.8 * h)), QPoint(int(0.35 * w), int(0.8 * h)))
    assert isinstance(c.selections[0], TFMask)
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=30_000)
    assert "not saved" in window.windowTitle()
    assert window.save_to(clip) is None  # never over the original
    out = window.save_to(tmp_path / "filled.wav")
    assert "not saved" not in window.windowTitle() and "REPAIRED, saved" in window.windowTitle()
    again = core.io.read(out)
    assert (again.sample_rate, again.channels, again.subtype, again.format) == (
        original.sample_rate,
        original.channels,
        original.subtype,
        original.format,
    )
    assert np.max(np.abs(again.samples - c.doc.samples)) <= 1 / 32767


def test_time_selection_on_the_waveform_and_cancel(qtbot, window, trumpet):
    assert open_file(window, trumpet)
    ws = audio(window)
    panel, c = ws.panel, ws.controller
    doc = c.doc
    assert panel.channel_combo.isVisible()  # a stereo clip: fill one channel or both
    # nothing selected: the dock's Fill is greyed like the panel's (walk-through 53), and says why
    assert not ws.picker.run_button.isEnabled() and not panel.fill_button.isEnabled()
    assert ws.picker.run_button.toolTip().startswith("Select the damaged part first")
    wave = panel.waveform
    _drag(qtbot, wave, QPoint(int(0.5 * wave.width()), 10), QPoint(int(0.52 * wave.width()), 20))
    sel = c.selections[0]
    assert ws.picker.run_button.isEnabled()
    assert isinstance(sel, TimeSpan) and sel.stop > sel.start
    panel.channel_combo.setCurrentIndex(panel.channel_combo.findText("Right"))
    assert ws.picker.select("fill-gap-ar")
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=30_000)
    filled = c.doc
    result = filled.samples
    assert np.array_equal(result[:, 0], doc.samples[:, 0])  # the left channel is untouched
    assert not np.array_equal(result[sel.start : sel.stop, 1], doc.samples[sel.start : sel.stop, 1])

    # Zoom keeps working and a cancelled fill leaves the document as it was.
    before = panel.viewport.spp
    panel.viewport.zoom(4.0, 100)
    assert panel.viewport.spp < before
    c.set_selections([TimeSpan(sel.start, sel.start + doc.sample_rate // 2)])
    assert c.fill("fill-gap-dip")
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not ws.busy and "Cancelled" in ws.progress.message.text()
    assert c.jobs.wait(30)
    qtbot.wait(50)
    assert c.doc is filled


def test_fills_use_the_preferences_and_the_method_parameters(qtbot, window, clip, monkeypatch):
    """The device and precision preferences and the picker's parameters reach core's repair()."""
    import core.repair

    seen = {}
    real = core.repair.repair

    def spy(document, task, method=None, mask=None, ctx=None, frames=None, **params):
        seen.update(device=ctx.device, precision=ctx.precision, params=params, method=method)
        return real(document, task, method, mask, ctx, frames, **params)

    monkeypatch.setattr(core.repair, "repair", spy)
    window.settings.set("run/device", "cpu")
    window.settings.set("run/precision", "float32")
    assert open_file(window, clip)
    ws = audio(window)
    assert ws.picker.select("fill-gap-ar")
    ws.picker.set_param("order_ms", 12.5)
    n = len(ws.controller.doc.samples)
    ws.controller.set_selections([TimeSpan(int(0.45 * n), int(0.47 * n))])
    ws.picker.request_run()
    qtbot.waitUntil(lambda: not ws.busy, timeout=30_000)
    assert seen["device"] == "cpu" and seen["precision"] == "float32"
    assert seen["method"] == "fill-gap-ar" and seen["params"]["order_ms"] == 12.5
    assert ws.controller.doc.provenance[-1].params["order_ms"] == 12.5


@pytest.mark.parametrize("how", ["open", "drop", "quit"])
def test_an_unsaved_fill_is_not_discarded_without_asking(qtbot, window, clip, ct_path, how):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    ws = _filled(qtbot, window, clip)
    filled = ws.controller.doc
    assert filled.provenance and window.session.unsaved
    asked = []
    window.confirm_discard = lambda: asked.append(how) or False  # the person says: keep it
    if how == "open":
        assert not window.open_path(ct_path)
    elif how == "drop":
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(ct_path))])
        window.dropEvent(
            QDropEvent(
                QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier(0)
            )
        )
    else:
        assert not window.close()
    assert asked == [how]
    assert window.session.doc is filled and window.isVisible()


def test_image_docks_come_back_after_audio_also_on_the_next_launch(qtbot, make_window, clip, ct_path):
    first = make_window()
    assert open_file(first, clip)
    assert not image(first).tools_dock.isVisible() and not image(first).repair_dock.isVisible()
    first.close()
    second = make_window()  # the same settings file: the layout saved by the first window
    assert image(second).tools_dock.isVisible() and image(second).repair_dock.isVisible()
    assert open_file(second, clip)
    assert open_file(second, ct_path)
    assert image(second).tools_dock.isVisible() and image(second).repair_dock.isVisible()


def test_time_axis_labels_are_never_cut_off_at_the_right_edge(window, trumpet):
    assert open_file(window, trumpet)
    panel = audio(window).panel
    view, rate = panel.spectrogram, panel.controller.doc.sample_rate
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
