"""The spectrogram's frame: a frequency axis (Hz / kHz marks on its scale) on the left and a dB colour
bar (the colour map with its levels) on the right. Both only read the `SpectrogramView` they frame and
repaint when its display changes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.audio.picture import COLORMAP
from desktop.qimage import wrap_rgb32
from desktop.workspaces.audio.spectrogram import SpectrogramView

TEXT = QColor(220, 220, 220)
BACKGROUND = QColor(24, 26, 30)
RAMP_WIDTH = 12


class _Frame(QWidget):
    def __init__(self, view: SpectrogramView, widest_label: str, extra: int, parent=None):
        super().__init__(parent)
        self.view = view
        self.setFixedWidth(self.fontMetrics().horizontalAdvance(widest_label) + extra)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        view.display_changed.connect(self.update)

    def _label(self, painter: QPainter, x: float, y: float, width: float, text: str, align) -> None:
        """A label centred on height `y`, kept inside the widget (the edge marks are not cut in half)."""
        line = painter.fontMetrics().height()
        top = float(np.clip(y - line / 2, 0, max(self.height() - line, 0)))
        painter.drawText(QRectF(x, top, width, line), align | Qt.AlignmentFlag.AlignVCenter, text)


class FrequencyAxis(_Frame):
    """Frequency marks of the view's scale, labelled in Hz and kHz."""

    def __init__(self, view: SpectrogramView, parent=None):
        super().__init__(view, "22.05 kHz", 12, parent)
        self.setToolTip("Frequency (View ▸ Frequency scale: linear, log or mel)")

    def ticks(self) -> list[tuple[float, str]]:
        """(y in the view, label) of each mark; none without a recording."""
        if self.view.doc is None:
            return []
        height = max(self.view.height(), 1)
        return [(self.view.y_of(hz), label) for hz, label in self.view.scale.ticks(height)]

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        painter.setPen(TEXT)
        width = self.width()
        for y, label in self.ticks():
            painter.drawLine(QPointF(width - 5, y), QPointF(width, y))
            self._label(painter, 0, y, width - 7, label, Qt.AlignmentFlag.AlignRight)
        painter.end()


class ColourBar(_Frame):
    """The colour map from the quietest level shown (bottom) to the loudest (top), with dB marks."""

    def __init__(self, view: SpectrogramView, parent=None):
        super().__init__(view, "-120 dBFS", RAMP_WIDTH + 16, parent)
        self.setToolTip(
            "Level in dBFS: a full-scale sine reads 0 dB (the Range slider sets how many dB the colours span)"
        )
        ramp = COLORMAP[::-1].astype(np.uint32)  # loudest at the top
        packed = np.uint32(0xFF000000) | (ramp[:, 0] << 16) | (ramp[:, 1] << 8) | ramp[:, 2]
        self._ramp = wrap_rgb32(np.ascontiguousarray(packed[:, None]))

    def levels(self) -> tuple[float, float]:
        """(loudest, quietest) dB the colours span."""
        return self.view.top_db, self.view.top_db - self.view.range_db

    def ticks(self) -> list[tuple[float, str]]:
        """(y, label) of each dB mark, every 10 or 20 dB as room allows."""
        if self.view.doc is None:
            return []
        top, bottom = self.levels()
        height = max(self.height(), 1)
        step = 10 if height / max(top - bottom, 1e-6) * 10 >= 22 else 20
        values = np.arange(np.ceil(bottom / step) * step, top + 1e-9, step)
        return [((top - v) / (top - bottom) * height, f"{v:.0f} dBFS") for v in values]

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        bar = QRectF(4, 0, RAMP_WIDTH, self.height())
        painter.drawImage(bar, self._ramp.image)
        painter.setPen(TEXT)
        for y, label in self.ticks():
            painter.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y))
            self._label(
                painter, bar.right() + 6, y, self.width() - bar.right() - 6, label, Qt.AlignmentFlag.AlignLeft
            )
        painter.end()
