"""The time viewport (zoom and scroll) shared by the waveform and the spectrogram, their common base
and the waveform view (`spectrogram.py` holds the spectrogram).

The views draw only what is on screen: the waveform is a min/max envelope per pixel column, so a long
file draws as fast as a short one. Mouse input becomes selections in document units (samples and Hz).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.audio.selection import TimeSpan

SELECTION_FILL = QColor(80, 170, 255, 60)
SELECTION_EDGE = QColor(80, 170, 255, 220)
FILLED_MARK = 5.0  # px: a filled selection is marked along the top edge only
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

    def reveal(self, start: int, stop: int) -> None:
        """Scroll so that samples [start, stop) are in view (centred), unless they already are."""
        first, last = self.visible()
        if start < first or stop > last:
            self.scroll_to((start + stop) / 2 - self.width * self.spp / 2)

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
    draws_bands = False  # True: time-frequency selections are drawn as bands, not as time spans

    def __init__(self, viewport: Viewport, parent=None):
        super().__init__(parent)
        self.viewport = viewport
        self.doc = None
        self.selections: list = []
        self.filled = False  # the selections were filled: marked along the top, the result visible
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

    def set_selections(self, selections: list, filled: bool = False) -> None:
        self.selections, self.filled = list(selections), filled
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
            if self.filled:  # a band would hide what filled it (89 packets of a call cover it all)
                painter.fillRect(QRectF(x0, 0, max(x1 - x0, 1.0), FILLED_MARK), SELECTION_EDGE)
            elif isinstance(sel, TimeSpan) or not self.draws_bands:
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
