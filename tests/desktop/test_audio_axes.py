"""The spectrogram's frame and scales in the real window: a frequency axis labelled in Hz/kHz, a dB
colour bar, linear/log/mel scales that move the picture and keep selections in Hz."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import audio, open_file
from PySide6.QtCore import QPoint, Qt

from core.audio.selection import TFMask, TFRect
from desktop.workspaces.audio.freq_scale import SCALES, FrequencyScale


@pytest.fixture
def trumpet(datasets):
    return datasets / "audio" / "bench" / "clips" / "sorohanro_-_solo-trumpet-06.ogg"


@pytest.mark.parametrize("kind", SCALES)
def test_a_scale_maps_hz_to_height_and_back(kind):
    scale = FrequencyScale(kind, 22050.0)
    hz = np.array([0.0 if kind != "log" else 25.0, 300.0, 1000.0, 3400.0, 22050.0])
    assert np.allclose(scale.hz_at(scale.position(hz)), hz, rtol=1e-9)
    positions = scale.position(hz)
    assert positions[0] < 0.05 and positions[-1] == 1.0 and np.all(np.diff(positions) > 0)
    assert scale.hz_at(0.0) == 0.0 and scale.hz_at(1.0) == pytest.approx(22050.0)  # 0 Hz and Nyquist


def test_mel_and_log_give_the_low_frequencies_more_room():
    linear, log, mel = (FrequencyScale(k, 8000.0) for k in ("linear", "log", "mel"))
    assert linear.position(1000) == pytest.approx(0.125)
    assert mel.position(1000) == pytest.approx(1000 / 2840.0, abs=0.01)  # 1000 Hz ~ 1000 mel of 2840
    assert log.position(1000) > mel.position(1000) > linear.position(1000)


def _drag(qtbot, view, start: QPoint, stop: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 5)[1:]:
        qtbot.mouseMove(view, start + (stop - start) * float(t))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=stop)


def _rect_between(qtbot, panel, low_hz: float, high_hz: float) -> TFRect:
    """Drag the rectangle tool from the pixel of `high_hz` to the pixel of `low_hz`, 40-50% across."""
    view = panel.spectrogram
    w = view.width()
    top, bottom = round(view.y_of(high_hz)), round(view.y_of(low_hz))
    _drag(qtbot, view, QPoint(int(0.4 * w), top), QPoint(int(0.5 * w), bottom))
    sel = panel.controller.selections[0]
    assert isinstance(sel, TFRect)
    return sel


def _selection_edge_rows(view, x: int) -> np.ndarray:
    """Rows of column `x` of the view's picture drawn in the selection's blue."""
    image = view.grab().toImage()
    rows = []
    for y in range(image.height()):
        c = image.pixelColor(x, y)
        if c.blue() > 200 and c.green() > 120 and c.blue() > c.red() + 80:
            rows.append(y)
    return np.asarray(rows)


def test_a_rectangle_drawn_under_mel_holds_the_band_it_covers_under_linear(qtbot, window, trumpet):
    assert open_file(window, trumpet)
    ws = audio(window)
    panel = ws.panel
    panel.tool_buttons["rect"].click()
    view = panel.spectrogram
    height = view.height()

    panel.set_scale("linear")
    linear = _rect_between(qtbot, panel, 300.0, 3400.0)
    linear_top = view.y_of(3400.0)
    panel.set_scale("mel")
    assert view.scale_kind == "mel" and ws.scale_actions["mel"].isChecked()
    mel = _rect_between(qtbot, panel, 300.0, 3400.0)
    mel_top = view.y_of(3400.0)
    assert mel_top < linear_top - 0.2 * height  # mel gives 300-3400 Hz far more of the height
    # The same band in Hz either way, to within a pixel row of each scale.
    for got, want in ((mel.low_hz, 300.0), (mel.high_hz, 3400.0), (linear.high_hz, 3400.0)):
        assert got == pytest.approx(want, rel=0.03)
    assert linear.low_hz == pytest.approx(300.0, abs=22050 / height)
    # The band is shown with the span: "Selected 2.133–2.667 s (533 ms), 303–3391 Hz".
    assert panel.status.text().endswith(f", {mel.low_hz:.0f}–{mel.high_hz:.0f} Hz")

    # Drawn where the mel picture puts it: the top edge at 3400 Hz's mel row, not its linear row.
    x = int(view.viewport.x_of((mel.start + mel.stop) / 2))
    edge = _selection_edge_rows(view, x)
    assert edge.size and abs(edge.min() - mel_top) <= 2

    # The View menu switches the scale too, and the choice is kept for the next window.
    ws.scale_actions["log"].trigger()
    assert view.scale_kind == "log" and panel.scale_combo.currentData() == "log"
    assert window.settings.get("audio/frequency_scale") == "log"


def test_a_brush_stroke_under_mel_selects_the_frequencies_painted(qtbot, window, trumpet):
    assert open_file(window, trumpet)
    panel = audio(window).panel
    panel.set_scale("mel")
    panel.tool_buttons["brush"].click()
    view = panel.spectrogram
    y = round(view.y_of(1000.0))
    _drag(qtbot, view, QPoint(int(0.3 * view.width()), y), QPoint(int(0.35 * view.width()), y))
    sel = panel.controller.selections[0]
    assert isinstance(sel, TFMask)
    rows = np.flatnonzero(sel.mask.any(axis=1)) * sel.max_hz / (sel.mask.shape[0] - 1)
    # A 6-pixel brush on mel's stretched lows covers a narrow band around 1 kHz.
    assert rows.min() <= 1000.0 <= rows.max() and rows.max() - rows.min() < 400.0


def test_the_frequency_axis_and_the_colour_bar_are_labelled(window, trumpet):
    assert open_file(window, trumpet)
    panel = audio(window).panel
    view, axis, bar = panel.spectrogram, panel.frequency_axis, panel.colour_bar
    assert axis.isVisible() and bar.isVisible() and axis.height() == view.height()
    # The waveform above lines up with the spectrogram: one time axis for both.
    assert panel.waveform.width() == view.width()
    assert panel.waveform.mapToGlobal(QPoint(0, 0)).x() == view.mapToGlobal(QPoint(0, 0)).x()

    shown = {}
    for kind in SCALES:
        panel.set_scale(kind)
        ticks = axis.ticks()
        labels = shown[kind] = [label for _y, label in ticks]
        assert len(ticks) >= 5 and all(0 <= y <= view.height() for y, _ in ticks)
        assert all(label.endswith(" Hz") or label.endswith(" kHz") for label in labels)
        assert any(label.endswith("kHz") for label in labels)
        ys = [y for y, _ in ticks]
        assert all(a - b >= 20 for a, b in zip(ys, ys[1:]))  # labels do not overlap
    assert {"100 Hz", "1 kHz", "10 kHz"} <= set(shown["log"])  # log: the decades
    assert {"0 Hz", "1 kHz", "10 kHz"} <= set(shown["mel"])

    view.image()  # the levels come from the picture shown
    bar_ticks = bar.ticks()
    assert bar_ticks and all(label.endswith(" dBFS") for _y, label in bar_ticks)
    # dBFS (a walk-through's 48 kHz file, peaking below full scale, topped the bar at "10 dB")
    assert view.top_db < 0.0
    top, bottom = bar.levels()
    assert top - bottom == pytest.approx(90.0) and top == pytest.approx(view.top_db)
    panel.range_slider.setValue(60)
    assert bar.levels()[0] - bar.levels()[1] == pytest.approx(60.0)
