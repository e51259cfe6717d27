"""Tool icons drawn with QPainter (crisp at any scale, no image files to ship)."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 64


def _pen(color: QColor, width: float = 4.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _draw(name: str, p: QPainter, color: QColor) -> None:
    accent = QColor(255, 90, 80)
    if name == "brush":
        path = QPainterPath(QPointF(10, 50))
        path.cubicTo(QPointF(24, 20), QPointF(40, 58), QPointF(54, 16))
        p.setPen(_pen(accent, 9))
        p.drawPath(path)
    elif name == "eraser":
        p.setPen(_pen(color, 4))
        p.setBrush(QColor(color.red(), color.green(), color.blue(), 60))
        p.drawPolygon(QPolygonF([QPointF(12, 40), QPointF(36, 14), QPointF(54, 30), QPointF(30, 56)]))
        p.drawLine(QPointF(21, 30), QPointF(40, 48))
        p.drawLine(QPointF(30, 56), QPointF(56, 56))
    elif name == "rect":
        p.setPen(_pen(color, 4, Qt.PenStyle.DashLine))
        p.drawRect(QRectF(12, 14, 40, 36))
    elif name == "lasso":
        p.setPen(_pen(color, 4))
        path = QPainterPath(QPointF(20, 46))
        path.cubicTo(QPointF(2, 30), QPointF(18, 8), QPointF(38, 10))
        path.cubicTo(QPointF(60, 12), QPointF(62, 36), QPointF(40, 42))
        path.cubicTo(QPointF(30, 45), QPointF(24, 44), QPointF(20, 46))
        p.drawPath(path)
        p.drawLine(QPointF(20, 46), QPointF(26, 58))
    elif name == "fill":
        p.setPen(_pen(color, 4))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolygon(QPolygonF([QPointF(10, 30), QPointF(30, 10), QPointF(50, 30), QPointF(30, 50)]))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(accent)
        p.drawPolygon(QPolygonF([QPointF(16, 30), QPointF(44, 30), QPointF(30, 44)]))
        p.drawEllipse(QRectF(48, 38, 10, 14))


@cache
def icon(name: str) -> QIcon:
    result = QIcon()
    for state_color, mode in (
        (QColor(220, 222, 226), QIcon.Mode.Normal),
        (QColor(255, 255, 255), QIcon.Mode.Active),
    ):
        pixmap = QPixmap(SIZE, SIZE)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw(name, p, state_color)
        p.end()
        result.addPixmap(pixmap, mode)
    return result
