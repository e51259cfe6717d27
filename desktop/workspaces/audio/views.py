"""Waveform and spectrogram views sharing one time viewport (zoom and scroll), with selection tools.

Both views draw only what is on screen: the waveform is a min/max envelope per pixel column, the
spectrogram one FFT frame per pixel column (`core.audio.picture.column_spectrogram`), so a long file
draws as fast as a short one. Mouse input becomes selections in document units (samples and Hz).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.audio.picture import colorize, column_spectrogram
from core.audio.selection import TFMask, TFRect, TimeSpan
from desktop.qimage import wrap_rgb32
from desktop.workspaces.audio.brush import BrushMask

SELECTION_FILL = QColor(80, 170, 255, 60)
SELECTION_EDGE = QColor(80, 170, 255, 220)
CURSOR = QColor(255, 255, 255, 230)


class Viewport(QObject):
    """The visible span: `start` (first sample at the left edge) and `spp` (samples per pixel)."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.length = 1
        self.start = 0.0
        self.spp = 1.0
        self.width = 1

    def set_length(self, length: int) -> None:
        self.length = max(1, int(length))

    def fit(self, width: int | None = None) -> None:
        self.width = max(1, width or self.width)
        self.start, self.spp = 0.0, self.length / self.width
        self.changed.emit()

    def set_width(self, width: int) -> None:
        if width != self.width:
            self.width = max(1, width)
            self._clamp()
            self.changed.emit()

    def zoom(self, factor: float, anchor_x: float) -> None:
        """Zoom by `factor` (>1 = in) keeping the sample under `anchor_x` in place."""
        anchor = self.start + anchor_x * self.spp
        self.spp = float(np.clip(self.spp / factor, 1.0 / 16, max(self.length / self.width, 1.0 / 16)))
        self.start = anchor - anchor_x * self.spp
        self._clamp()
        self.changed.emit()

    def scroll_to(self, start: float) -> None:
        self.start = float(start)
        self._clamp()
        self.changed.emit()

    def visible(self) -> tuple[int, int]:
        return int(self.start), int(min(self.length, self.start + self.width * self.spp))

    def sample_at(self, x: float) -> float:
        return self.start + x * self.spp

    def x_of(self, sample: float) -> float:
        return (sample - self.start) / self.spp

    def _clamp(self) -> None:
        self.start = float(np.clip(self.start, 0.0, max(0.0, self.length - self.width * self.spp)))


class _AudioView(QWidget):
    """Shared parts: the document, the viewport, selections, the play cursor, wheel zoom."""

    selection_made = Signal(object)  # a Selection, or None when cleared

    def __init__(self, viewport: Viewport, parent=None):
        super().__init__(parent)
        self.viewport = viewport
        self.doc = None
        self.selections: list = []
        self.cursor_sample: int | None = None
        self.revision = 0
        self._drag_from: QPointF | None = None
        self._drag_to: QPointF | None = None
        self.setMouseTracking(False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        viewport.changed.connect(self.update)

    def set_document(self, doc) -> None:
        self.doc = doc
        self.revision += 1  # caches keyed on it are stale
        self.update()

    def set_selections(self, selections: list) -> None:
        self.selections = list(selections)
        self.update()

    def set_cursor(self, sample: int | None) -> None:
        self.cursor_sample = sample
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        self.viewport.set_width(self.width())
        super().resizeEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta()
        if abs(delta.x()) > abs(delta.y()):  # a horizontal swipe scrolls
            self.viewport.scroll_to(self.viewport.start - delta.x() / 120 * 40 * self.viewport.spp)
        else:
            self.viewport.zoom(1.25 ** (delta.y() / 120), event.position().x())
        event.accept()

    def _mono(self, lo: int, hi: int) -> np.ndarray:
        return np.asarray(self.doc.samples[lo:hi], np.float32).mean(axis=1)

    def _draw_time_spans(self, painter: QPainter) -> None:
        for sel in self.selections:
            a, b = sel.span
            x0, x1 = self.viewport.x_of(a), self.viewport.x_of(b)
            if isinstance(sel, TimeSpan) or not isinstance(self, SpectrogramView):
                painter.fillRect(QRectF(x0, 0, max(x1 - x0, 1.0), self.height()), SELECTION_FILL)
                painter.setPen(QPen(SELECTION_EDGE, 1))
                painter.drawLine(QPointF(x0, 0), QPointF(x0, self.height()))
                painter.drawLine(QPointF(x1, 0), QPointF(x1, self.height()))

    def _draw_cursor(self, painter: QPainter) -> None:
        if self.cursor_sample is not None:
            x = self.viewport.x_of(self.cursor_sample)
            painter.setPen(QPen(CURSOR, 1.5))
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _drag_rect(self) -> QRectF | None:
        if self._drag_from is None or self._drag_to is None:
            return None
        return QRectF(self._drag_from, self._drag_to).normalized()

    def _time_span_from_drag(self) -> TimeSpan | None:
        rect = self._drag_rect()
        if rect is None or rect.width() < 2:
            return None
        a = int(round(self.viewport.sample_at(max(rect.left(), 0.0))))
        b = int(round(self.viewport.sample_at(min(rect.right(), self.width()))))
        a, b = max(0, a), min(self.viewport.length, b)
        return TimeSpan(a, b) if b > a else None


class WaveformView(_AudioView):
    """Min/max envelope per pixel column, one lane per channel; drag to select a time span."""

    def __init__(self, viewport: Viewport, parent=None):
        super().__init__(viewport, parent)
        self.setMinimumHeight(90)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 26, 30))
        if self.doc is not None:
            self._draw_wave(painter)
            self._draw_time_spans(painter)
            rect = self._drag_rect()
            if rect is not None:
                painter.fillRect(QRectF(rect.left(), 0, rect.width(), self.height()), SELECTION_FILL)
            self._draw_cursor(painter)
        painter.end()

    def _draw_wave(self, painter: QPainter) -> None:
        width = self.width()
        channels = self.doc.channels
        lane = self.height() / channels
        length = self.viewport.length
        edges = np.round(self.viewport.start + np.arange(width + 1) * self.viewport.spp).astype(np.int64)
        columns = int(np.searchsorted(edges[:-1], length))  # columns that start inside the recording
        starts = np.clip(edges[:columns], 0, length - 1)
        for c in range(channels):
            mid = lane * (c + 0.5)
            painter.setPen(QPen(QColor(60, 64, 72), 1))
            painter.drawLine(QPointF(0, mid), QPointF(width, mid))
            if columns == 0:
                continue
            x = np.asarray(self.doc.samples[:, c])
            # Min/max of each column's samples in one pass (reduceat over the column starts).
            tops = np.maximum.reduceat(x, starts)
            bottoms = np.minimum.reduceat(x, starts)
            painter.setPen(QPen(QColor(120, 200, 160), 1))
            painter.drawLines(
                [
                    QLineF(i, mid - float(t) * lane / 2, i, mid - float(b) * lane / 2)
                    for i, (t, b) in enumerate(zip(tops, bottoms))
                ]
            )

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.doc is not None:
            self._drag_from = self._drag_to = event.position()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is not None:
            self._drag_to = event.position()
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        self._drag_to = event.position()
        span = self._time_span_from_drag()
        self._drag_from = self._drag_to = None
        self.selection_made.emit(span)
        self.update()


class SpectrogramView(_AudioView):
    """dB spectrogram (adjustable FFT size and range) with time, rectangle and brush selection."""

    TOOLS = ("time", "rect", "brush")

    def __init__(self, viewport: Viewport, parent=None):
        super().__init__(viewport, parent)
        self.n_fft = 1024
        self.range_db = 90.0
        self.tool = "rect"
        self.brush_radius = 6.0  # pixels
        self.brush: BrushMask | None = None
        self._cache_key = None
        self._frame = None
        self.setMinimumHeight(160)

    def set_fft(self, n_fft: int) -> None:
        self.n_fft = int(n_fft)
        self.update()

    def set_range(self, range_db: float) -> None:
        self.range_db = float(range_db)
        self.update()

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        if tool != "brush":
            self.brush = None

    @property
    def nyquist(self) -> float:
        return self.doc.sample_rate / 2 if self.doc is not None else 1.0

    def hz_at(self, y: float) -> float:
        return float(np.clip(1.0 - y / max(self.height(), 1), 0.0, 1.0)) * self.nyquist

    def y_of(self, hz: float) -> float:
        return (1.0 - hz / self.nyquist) * self.height()

    def image(self) -> QImage | None:
        """The spectrogram of the visible span, one frame per pixel column (cached)."""
        if self.doc is None:
            return None
        width = max(1, self.width())
        key = (self.revision, self.n_fft, self.range_db, self.viewport.start, self.viewport.spp, width)
        if key != self._cache_key:
            centres = np.round(self.viewport.start + (np.arange(width) + 0.5) * self.viewport.spp).astype(
                np.int64
            )
            half = self.n_fft // 2 + 1
            lo = max(0, int(centres[0]) - half)
            hi = min(self.viewport.length, int(centres[-1]) + half)
            db = column_spectrogram(self._mono(lo, hi), centres - lo, self.n_fft)
            rgb = colorize(db, top_db=max(float(db.max()), -30.0), range_db=self.range_db)
            packed = (
                np.uint32(0xFF000000)
                | (rgb[..., 0].astype(np.uint32) << 16)
                | (rgb[..., 1].astype(np.uint32) << 8)
                | rgb[..., 2].astype(np.uint32)
            )
            self._frame = wrap_rgb32(packed)
            self._cache_key = key
        return self._frame.image

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        image = self.image()
        if image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(0, 0, self.width(), self.height()), image)
            self._draw_time_spans(painter)
            self._draw_tf(painter)
            rect = self._drag_rect()
            if rect is not None and self.tool in ("time", "rect"):
                if self.tool == "time":
                    rect = QRectF(rect.left(), 0, rect.width(), self.height())
                painter.fillRect(rect, SELECTION_FILL)
                painter.setPen(QPen(SELECTION_EDGE, 1))
                painter.drawRect(rect)
            self._draw_cursor(painter)
            painter.setPen(QColor(230, 230, 230))
            painter.drawText(6, 14, f"{self.nyquist / 1000:.1f} kHz")
            self._draw_time_axis(painter)
        painter.end()

    def _draw_time_axis(self, painter: QPainter) -> None:
        """Second marks along the bottom edge, spaced about 100 px apart at any zoom."""
        height = self.height()
        painter.setPen(QColor(220, 220, 220, 200))
        for x, label in self.time_ticks(painter.fontMetrics()):
            painter.drawLine(QPointF(x, height - 6), QPointF(x, height))
            if label:
                painter.drawText(QPointF(x + 3, height - 4), label)

    def time_ticks(self, metrics: QFontMetrics | None = None) -> list[tuple[float, str]]:
        """(x, label) of each second mark in view; the label is empty where it would run past the
        right edge (a mark there keeps its tick, not a cut-off "4" of "4 s")."""
        if self.doc is None:
            return []
        metrics = metrics or self.fontMetrics()
        rate = self.doc.sample_rate
        seconds_per_px = self.viewport.spp / rate
        step = next(
            (
                s
                for s in (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
                if s / seconds_per_px >= 90
            ),
            600,
        )
        first = np.ceil(self.viewport.start / rate / step) * step
        ticks = []
        for t in np.arange(first, (self.viewport.start + self.width() * self.viewport.spp) / rate, step):
            x = self.viewport.x_of(t * rate)
            label = f"{t:.3f}".rstrip("0").rstrip(".") + " s"
            fits = x + 3 + metrics.horizontalAdvance(label) <= self.width()
            ticks.append((x, label if fits else ""))
        return ticks

    def _draw_tf(self, painter: QPainter) -> None:
        masks = [s for s in self.selections if isinstance(s, TFMask)]
        if self.brush is not None and self.brush.mask.any():
            masks.append(self.brush.selection())
        for sel in self.selections:
            if isinstance(sel, TFRect):
                x0, x1 = self.viewport.x_of(sel.start), self.viewport.x_of(sel.stop)
                y0, y1 = self.y_of(sel.high_hz), self.y_of(sel.low_hz)
                rect = QRectF(QPointF(x0, y0), QPointF(x1, y1))
                painter.fillRect(rect, SELECTION_FILL)
                painter.setPen(QPen(SELECTION_EDGE, 1.5))
                painter.drawRect(rect)
        for sel in masks:
            self._draw_mask(painter, sel)

    def _draw_mask(self, painter: QPainter, sel: TFMask) -> None:
        rows, cols = sel.mask.shape
        rgba = np.zeros((rows, cols), np.uint32)
        rgba[sel.mask] = np.uint32(0x6050AAFF)  # premultiplied-ish translucent blue
        frame = wrap_rgb32(np.ascontiguousarray(rgba[::-1]), premultiplied_alpha=True)
        x0 = self.viewport.x_of(sel.start)
        x1 = self.viewport.x_of(sel.start + cols * sel.step)
        y0 = self.y_of(sel.max_hz)
        painter.drawImage(QRectF(x0, y0, x1 - x0, self.height() - y0), frame.image)

    # --- mouse ---
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self.doc is None:
            return
        pos = event.position()
        self._drag_from = self._drag_to = pos
        if self.tool == "brush":
            if self.brush is None:
                self.brush = BrushMask(
                    int(self.viewport.start),
                    max(1, int(round(self.viewport.spp))),
                    self.width(),
                    self.height(),
                    self.nyquist,
                )
            self._stamp(pos, continue_stroke=False)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        self._drag_to = event.position()
        if self.tool == "brush" and self.brush is not None:
            self._stamp(self._drag_to, continue_stroke=True)
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        self._drag_to = event.position()
        selection = None
        if self.tool == "time":
            selection = self._time_span_from_drag()
        elif self.tool == "rect":
            selection = self._rect_from_drag()
        elif self.brush is not None:
            self._stamp(self._drag_to, continue_stroke=True)
            self.brush.end_stroke()
            selection = self.brush.selection(None)
        self._drag_from = self._drag_to = None
        self.selection_made.emit(selection)
        self.update()

    def _stamp(self, pos: QPointF, continue_stroke: bool) -> None:
        sample = self.viewport.sample_at(pos.x())
        radius_cells = self.brush_radius * self.viewport.spp / self.brush.step
        self.brush.stamp(sample, self.hz_at(pos.y()), radius_cells, continue_stroke)

    def _rect_from_drag(self) -> TFRect | TimeSpan | None:
        rect = self._drag_rect()
        span = self._time_span_from_drag()
        if span is None or rect is None:
            return None
        high, low = self.hz_at(rect.top()), self.hz_at(rect.bottom())
        if high - low >= 0.98 * self.nyquist:  # the whole height: a plain time span
            return span
        if high <= low:
            return None
        return TFRect(span.start, span.stop, low, high)
