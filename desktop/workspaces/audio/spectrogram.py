"""The spectrogram view: dB power on a linear, log or mel frequency scale, with time, rectangle and
brush selection.

One FFT frame per pixel column (`core.audio.picture.column_spectrogram`), so a long file draws as fast
as a short one; the frame's linear bins are resampled to one row per pixel on the chosen scale
(`freq_scale.FrequencyScale`). Pointer positions become selections in samples and Hz through the same
scale, so a rectangle drawn under mel holds the band it covers on screen.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen

from core.audio.picture import colorize, column_spectrogram
from core.audio.selection import TFMask, TFRect, TimeSpan
from desktop.qimage import wrap_rgb32
from desktop.workspaces.audio.brush import BrushMask
from desktop.workspaces.audio.freq_scale import FrequencyScale
from desktop.workspaces.audio.views import SELECTION_EDGE, SELECTION_FILL, Viewport, _AudioView

FLOOR_TOP_DB = -50.0  # dBFS; the colour map's top never drops below this: a near-silent clip stays dark


class SpectrogramView(_AudioView):
    """dB spectrogram (adjustable FFT size, range and frequency scale) with time, rectangle and brush
    selection."""

    TOOLS = ("time", "rect", "brush")
    draws_bands = True
    display_changed = Signal()  # the frequency scale, the levels (top dB, range) or the height changed

    def __init__(self, viewport: Viewport, parent=None):
        super().__init__(viewport, parent)
        self.n_fft = 1024
        self.range_db = 90.0
        self.top_db = 0.0  # the level shown brightest, set from the visible picture
        self.scale_kind = "linear"
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
        self.display_changed.emit()

    def set_scale(self, kind: str) -> None:
        FrequencyScale(kind)  # a bad name fails here, not at the next paint
        self.scale_kind = kind
        self.brush = None  # painted in the old scale's rows
        self.update()
        self.display_changed.emit()

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        if tool != "brush":
            self.brush = None

    @property
    def nyquist(self) -> float:
        return self.doc.sample_rate / 2 if self.doc is not None else 1.0

    @property
    def scale(self) -> FrequencyScale:
        return FrequencyScale(self.scale_kind, self.nyquist)

    def hz_at(self, y: float) -> float:
        return self.scale.hz_at(1.0 - y / max(self.height(), 1))

    def y_of(self, hz: float) -> float:
        return (1.0 - self.scale.position(hz)) * self.height()

    def set_document(self, doc) -> None:
        super().set_document(doc)
        self.display_changed.emit()  # another rate: another Nyquist on the axis

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.display_changed.emit()

    def image(self) -> QImage | None:
        """The spectrogram of the visible span, one frame per pixel column and one row per pixel on the
        frequency scale (cached)."""
        if self.doc is None:
            return None
        width, height = max(1, self.width()), max(1, self.height())
        key = (
            self.revision,
            self.n_fft,
            self.range_db,
            self.scale_kind,
            self.viewport.start,
            self.viewport.spp,
            width,
            height,
        )
        if key != self._cache_key:
            centres = np.round(self.viewport.start + (np.arange(width) + 0.5) * self.viewport.spp).astype(
                np.int64
            )
            half = self.n_fft // 2 + 1
            lo = max(0, int(centres[0]) - half)
            hi = min(self.viewport.length, int(centres[-1]) + half)
            db = column_spectrogram(self._mono(lo, hi), centres - lo, self.n_fft)
            top = max(float(db.max()), FLOOR_TOP_DB)
            rows = self.scale.remap(db, height)[::-1]  # colorize wants the lowest frequency first
            rgb = colorize(rows, top_db=top, range_db=self.range_db)
            packed = (
                np.uint32(0xFF000000)
                | (rgb[..., 0].astype(np.uint32) << 16)
                | (rgb[..., 1].astype(np.uint32) << 8)
                | rgb[..., 2].astype(np.uint32)
            )
            self._frame = wrap_rgb32(packed)
            self._cache_key = key
            if top != self.top_db:
                self.top_db = top
                self.display_changed.emit()
        return self._frame.image

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        image = self.image()
        if image is not None:
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
                if not self.filled:  # filled: outlined only, so the fill shows
                    painter.fillRect(rect, SELECTION_FILL)
                painter.setPen(
                    QPen(SELECTION_EDGE, 1.5, Qt.PenStyle.DashLine if self.filled else Qt.PenStyle.SolidLine)
                )
                painter.drawRect(rect)
        for sel in masks:
            self._draw_mask(painter, sel)

    def _draw_mask(self, painter: QPainter, sel: TFMask) -> None:
        """The painted mask (rows linear in Hz) drawn row by screen row on the current scale."""
        rows, cols = sel.mask.shape
        height = max(1, self.height())
        index = np.round(self.scale.row_frequencies(height) / sel.max_hz * (rows - 1)).astype(np.int64)
        shown = np.where((index < rows)[:, None], sel.mask[np.clip(index, 0, rows - 1)], False)
        rgba = np.zeros((height, cols), np.uint32)
        rgba[shown] = np.uint32(0x6050AAFF)  # premultiplied-ish translucent blue
        frame = wrap_rgb32(np.ascontiguousarray(rgba), premultiplied_alpha=True)
        x0 = self.viewport.x_of(sel.start)
        x1 = self.viewport.x_of(sel.start + cols * sel.step)
        painter.drawImage(QRectF(x0, 0, x1 - x0, height), frame.image)

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
                    self.scale,
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
        if rect.height() >= 0.98 * self.height():  # the whole height: a plain time span
            return span
        if high <= low:
            return None
        return TFRect(span.start, span.stop, low, high)
