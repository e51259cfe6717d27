"""The marks the canvas paints over the image: outlines, banners and corner labels."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen


def outline(p: QPainter, shape, ellipse: bool = False) -> None:
    """A two-tone outline that stays visible on dark and bright pixels alike."""
    for color, width in ((QColor(0, 0, 0, 200), 3.0), (QColor(255, 255, 255, 230), 1.2)):
        p.setPen(QPen(color, width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        if ellipse:
            p.drawEllipse(shape)
        elif isinstance(shape, QPainterPath):
            p.drawPath(shape)
        else:
            p.drawRect(shape)


def banner(p: QPainter, text: str, color: QColor, family: str, x_centre: float) -> None:
    """A rounded label centred at the top (REPAIRED, BEFORE, PREVIEW)."""
    font = QFont(family, 10)
    font.setBold(True)
    font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 0.8)
    p.setFont(font)
    metrics = p.fontMetrics()
    w, h = metrics.horizontalAdvance(text) + 28, metrics.height() + 12
    rect = QRectF(x_centre - w / 2, 12, w, h)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(rect, h / 2, h / 2)
    p.setPen(QColor(255, 255, 255))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def corner_label(p: QPainter, text: str, rect: QRectF, left: bool = False) -> None:
    """A dark label in a bottom corner of the split view, cut to fit."""
    if rect.width() < 40:
        return
    metrics = p.fontMetrics()
    text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width()) - 16)
    w = metrics.horizontalAdvance(text) + 16
    box = QRectF(rect.left() if left else rect.right() - w, rect.top(), w, rect.height())
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0, 170))
    p.drawRoundedRect(box, 4, 4)
    p.setPen(QColor(235, 235, 235))
    p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def direction_letters(p: QPainter, shown: QRectF, directions: dict[str, str], family: str) -> None:
    """The patient direction at the middle of each edge of the shown picture (R, L, A, P, S, I), as
    scan viewers mark them, just inside it."""
    if shown.width() < 60 or shown.height() < 60:
        return
    font = QFont(family, 11)
    font.setBold(True)
    p.setFont(font)
    size = p.fontMetrics().height() + 4
    places = {
        "left": QRectF(shown.left() + 4, shown.center().y() - size / 2, size, size),
        "right": QRectF(shown.right() - 4 - size, shown.center().y() - size / 2, size, size),
        "top": QRectF(shown.center().x() - size / 2, shown.top() + 4, size, size),
        "bottom": QRectF(shown.center().x() - size / 2, shown.bottom() - 4 - size, size, size),
    }
    for edge, box in places.items():
        letter = directions.get(edge)
        if not letter:
            continue
        p.setPen(QColor(0, 0, 0, 200))  # a dark shadow: legible on bright and dark pixels alike
        p.drawText(box.translated(1, 1), Qt.AlignmentFlag.AlignCenter, letter)
        p.setPen(QColor(255, 214, 90))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, letter)
