"""The image view: zoom/pan, mask overlay, before/after compare, brush cursor and tool gestures.

The canvas draws; it decides nothing. Gestures come out as signals in image coordinates (floats,
pixel (i, j) covering [j, j+1) x [i, i+1)); the main window hands them to the controller. Painting
redraws only the visible part of each layer, and a stroke asks for the repaint of its dirty rectangle
only, so a 6000x4000 image stays smooth.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.qimage import Frame
from desktop.widgets.canvas_marks import banner, corner_label, direction_letters, outline

BRUSH_TOOLS = ("brush", "eraser")
TOOLS = ("brush", "eraser", "rect", "lasso", "fill")
MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
BANNER_BOTTOM = 44.0  # widget y below the REPAIRED / BEFORE banner (canvas_marks.banner)


class Canvas(QWidget):
    hovered = Signal(float, float)  # image coordinates under the cursor
    left = Signal()
    paint_begin = Signal(float, float)
    paint_move = Signal(float, float)
    paint_end = Signal()
    rect_drawn = Signal(float, float, float, float)
    lasso_drawn = Signal(list)
    fill_clicked = Signal(float, float)
    window_drag_begin = Signal()
    window_drag = Signal(float, float)  # mouse travel in widget pixels since the drag began
    window_drag_end = Signal()
    slice_step = Signal(int)
    view_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        self.background = QColor(24, 25, 28)

        self._base: Frame | None = None
        self._before: Frame | None = None
        self._overlay: Frame | None = None
        self._diff: Frame | None = None
        self._marks: Frame | None = None  # the outline of what a repair changed on a scan
        self._mips: dict[tuple[int, int], QImage] = {}  # (layer id, level) -> downscaled copy
        self.image_size = QSize(0, 0)
        self.aspect = (1.0, 1.0)  # display size of one pixel (x, y), from the pixel spacing
        self.zoom = 1.0
        self.offset = QPointF(0, 0)  # widget position of the image's top-left corner
        # A scan shown as radiologists read it (core.io.orientation): the view mirrors the slice
        # left-right / top-bottom; the pixels and masks stay as the file has them.
        self.mirror = (False, False)
        self.directions: dict[str, str] | None = None  # the patient direction at each edge, shown
        self._fit_mode = True  # refit when the widget is resized, until the user zooms or pans

        self.tool = "brush"
        self.brush_radius = 20.0  # image pixels
        self.show_mask = True
        self.wheel_steps_slices = False  # the wheel's use: zoom (a picture) or slices (a series)
        self._wheel_turned = 0  # the part of a notch turned towards the next slice
        self.show_diff = False
        self.compare = "off"  # "off", "flip" (show before) or "split"
        self.split = 0.5  # divider position as a fraction of the widget width
        self.banner = ""  # e.g. "REPAIRED — inpaint-telea"
        self.before_label = "BEFORE"

        self._drag: str | None = None
        self._drag_start = QPointF()
        self._drag_offset = QPointF()
        self._rect_end = QPointF()
        self._lasso: list[QPointF] = []
        self._space = False
        self._cursor: QPointF | None = None
        self._update_cursor_shape()

    # --- layers ---

    def set_base(self, frame: Frame | None, aspect: tuple[float, float] | None = None) -> None:
        """Show a new display image; the view is kept when the size is unchanged."""
        size = QSize(0, 0) if frame is None else frame.image.size()
        changed = size != self.image_size or (aspect is not None and tuple(aspect) != self.aspect)
        self._base = frame
        self._drop_mips(0)
        if aspect is not None:
            self.aspect = (float(aspect[0]), float(aspect[1]))
        self.image_size = size
        if changed:
            self._fit_mode = True
            self.fit()
        self.update()

    def replace_base_image(self, frame: Frame) -> None:
        """Show another rendering of the same image, possibly smaller (a quick preview while the
        window/level is dragged on a huge image); the view and the image size stay as they are."""
        self._base = frame
        self._drop_mips(0)
        self.update()

    def set_before(self, frame: Frame | None) -> None:
        self._before = frame
        self._drop_mips(1)
        self.update()

    def set_overlay(self, frame: Frame | None) -> None:
        self._overlay = frame
        self.update()

    def set_diff(self, frame: Frame | None) -> None:
        self._diff = frame
        self.update()

    def set_marks(self, frame: Frame | None) -> None:
        self._marks = frame
        self.update()

    def has_before(self) -> bool:
        return self._before is not None

    @property
    def base(self) -> Frame | None:
        return self._base

    @property
    def before(self) -> Frame | None:
        return self._before

    @property
    def overlay(self) -> Frame | None:
        return self._overlay

    @property
    def diff(self) -> Frame | None:
        return self._diff

    @property
    def marks(self) -> Frame | None:
        return self._marks

    def _drop_mips(self, layer: int) -> None:
        for key in [k for k in self._mips if k[0] == layer]:
            del self._mips[key]

    def update_image_rect(self, y0: int, y1: int, x0: int, x1: int) -> None:
        """Repaint only the widget area showing image pixels [y0, y1) x [x0, x1)."""
        rect = self.transform().mapRect(QRectF(x0, y0, x1 - x0, y1 - y0)).toAlignedRect()
        self.update(rect.adjusted(-2, -2, 2, 2))

    # --- view transform ---

    def transform(self) -> QTransform:
        t = QTransform()
        t.translate(self.offset.x(), self.offset.y())
        t.scale(self.zoom * self.aspect[0], self.zoom * self.aspect[1])
        if any(self.mirror):
            t.translate(
                self.image_size.width() if self.mirror[0] else 0,
                self.image_size.height() if self.mirror[1] else 0,
            )
            t.scale(-1.0 if self.mirror[0] else 1.0, -1.0 if self.mirror[1] else 1.0)
        return t

    def _mirrored(self, point: QPointF) -> QPointF:
        """An image point where a mirrored view draws it (its own inverse)."""
        x = self.image_size.width() - point.x() if self.mirror[0] else point.x()
        y = self.image_size.height() - point.y() if self.mirror[1] else point.y()
        return QPointF(x, y)

    def to_image(self, pos: QPointF) -> QPointF:
        sx, sy = self.zoom * self.aspect[0], self.zoom * self.aspect[1]
        return self._mirrored(QPointF((pos.x() - self.offset.x()) / sx, (pos.y() - self.offset.y()) / sy))

    def set_orientation(self, mirror: tuple[bool, bool], directions: dict[str, str] | None) -> None:
        """Mirror the view of a scan so it shows as radiologists read it, with its edges' letters."""
        if (tuple(mirror), directions) != (self.mirror, self.directions):
            self.mirror, self.directions = (bool(mirror[0]), bool(mirror[1])), directions
            self.update()

    def to_widget(self, pos: QPointF) -> QPointF:
        return self.transform().map(pos)

    def fit(self) -> None:
        if self.image_size.isEmpty():
            return
        w = self.image_size.width() * self.aspect[0]
        h = self.image_size.height() * self.aspect[1]
        zoom = min(self.width() / w, self.height() / h) * 0.96
        self._fit_mode = True
        self._set_view(zoom, QPointF((self.width() - w * zoom) / 2, (self.height() - h * zoom) / 2))

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under `anchor` (widget coords; default: centre) in place."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        point = self._mirrored(self.to_image(anchor))  # where the view draws it, unscaled
        sx, sy = zoom * self.aspect[0], zoom * self.aspect[1]
        self._fit_mode = False
        self._set_view(zoom, QPointF(anchor.x() - point.x() * sx, anchor.y() - point.y() * sy))

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def pan_by(self, dx: float, dy: float) -> None:
        self._fit_mode = False
        self._set_view(self.zoom, self.offset + QPointF(dx, dy))

    def _set_view(self, zoom: float, offset: QPointF) -> None:
        self.zoom, self.offset = zoom, offset
        self.update()
        self.view_changed.emit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if self._fit_mode:
            self.fit()
        super().resizeEvent(event)

    # --- drawing ---

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(event.rect(), self.background)
        if self._base is not None:
            self._paint_layers(p, event.rect())
        p.resetTransform()
        self._paint_decorations(p)
        p.end()

    def _visible_image_rect(self, widget_rect: QRect) -> QRectF:
        """The image rectangle behind a widget rectangle, grown to whole pixels plus a margin so
        that smooth sampling at its edges matches a full repaint (no seams after partial updates)."""
        r = self.transform().inverted()[0].mapRect(QRectF(widget_rect))
        x0 = max(0, math.floor(r.left()) - 2)
        y0 = max(0, math.floor(r.top()) - 2)
        x1 = min(self.image_size.width(), math.ceil(r.right()) + 2)
        y1 = min(self.image_size.height(), math.ceil(r.bottom()) + 2)
        return QRectF(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def _paint_layers(self, p: QPainter, clip: QRect) -> None:
        visible = self._visible_image_rect(clip)
        if visible.isEmpty():
            return
        scale = min(self.zoom * self.aspect[0], self.zoom * self.aspect[1])
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 2.0)
        p.setTransform(self.transform())
        if self.compare == "split" and self._before is not None:
            split_x = self.split * self.width()
            p.save()
            p.setClipRect(self.transform().inverted()[0].mapRect(QRectF(0, 0, split_x, self.height())))
            self._draw_layer(p, 1, self._before.image, visible, scale)
            p.restore()
            p.save()
            p.setClipRect(
                self.transform()
                .inverted()[0]
                .mapRect(QRectF(split_x, 0, self.width() - split_x, self.height()))
            )
            self._draw_layer(p, 0, self._base.image, visible, scale)
            p.restore()
        elif self.compare == "flip" and self._before is not None:
            self._draw_layer(p, 1, self._before.image, visible, scale)
        else:
            self._draw_layer(p, 0, self._base.image, visible, scale)
        if self.show_diff and self._diff is not None:
            self._draw_layer(p, 2, self._diff.image, visible, scale)
        if self.show_mask and self._overlay is not None:
            self._draw_layer(p, 3, self._overlay.image, visible, scale)
        if self._marks is not None:
            self._draw_layer(p, 4, self._marks.image, visible, scale)

    def _draw_layer(self, p: QPainter, layer: int, image: QImage, visible: QRectF, scale: float) -> None:
        """Draw the visible part of a layer, which may be of another size than the image (the
        before view of an upscale), from a downscaled copy when zoomed far out (less aliasing)."""
        fx = image.width() / max(self.image_size.width(), 1)
        fy = image.height() / max(self.image_size.height(), 1)
        level = 0
        if layer in (0, 1) and scale * min(1 / fx, 1 / fy) < 0.5:
            level = min(4, int(math.floor(math.log2(1.0 / (scale * min(1 / fx, 1 / fy))))))
        if level:
            mip = self._mips.get((layer, level))
            if mip is None:
                mip = image.scaled(
                    max(1, image.width() >> level),
                    max(1, image.height() >> level),
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                self._mips[(layer, level)] = mip
            fx, fy = fx * mip.width() / image.width(), fy * mip.height() / image.height()
            image = mip
        source = QRectF(visible.x() * fx, visible.y() * fy, visible.width() * fx, visible.height() * fy)
        p.drawImage(visible, image, source)

    def _paint_decorations(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self._base is None:
            p.setPen(QColor(140, 144, 150))
            p.setFont(QFont(self.font().family(), 12))
            p.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "Open a photo, a scan (DICOM, NIfTI) or a recording\n(Ctrl+O, or drop it here)",
            )
            return
        if self.directions:
            shown = self.transform().mapRect(QRectF(0, 0, self.image_size.width(), self.image_size.height()))
            if self.banner or self.compare == "flip":  # the top letter below the banner, not under it
                shown.setTop(max(shown.top(), BANNER_BOTTOM))
            direction_letters(
                p, shown.intersected(QRectF(self.rect())), self.directions, self.font().family()
            )
        if self.compare == "split" and self._before is not None:
            self._paint_split(p)
        if self.compare == "flip" and self._before is not None:
            banner(p, self.before_label, QColor(40, 110, 200), self.font().family(), self.width() / 2)
        elif self.banner:
            banner(p, self.banner, QColor(214, 120, 20), self.font().family(), self.width() / 2)
        if self._drag == "rect":
            a, b = self.to_widget(self._drag_start), self.to_widget(self._rect_end)
            outline(p, QRectF(a, b).normalized())
        if self._drag == "lasso" and len(self._lasso) > 1:
            poly = QPolygonF([self.to_widget(q) for q in self._lasso])
            path = QPainterPath()
            path.addPolygon(poly)
            outline(p, path)
        if self._cursor is not None and self.tool in BRUSH_TOOLS and self._drag not in ("pan", "window"):
            rx = max(self.brush_radius * self.zoom * self.aspect[0], 1.5)
            ry = max(self.brush_radius * self.zoom * self.aspect[1], 1.5)
            ellipse = QRectF(self._cursor.x() - rx, self._cursor.y() - ry, 2 * rx, 2 * ry)
            outline(p, ellipse, ellipse=True)
            p.setPen(QPen(QColor(255, 255, 255, 200), 1))
            p.drawPoint(self._cursor)

    def _paint_split(self, p: QPainter) -> None:
        x = self.split * self.width()
        p.setPen(QPen(QColor(0, 0, 0, 160), 3))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        handle = QRectF(x - 14, self.height() / 2 - 14, 28, 28)
        p.setBrush(QColor(30, 32, 36, 230))
        p.drawEllipse(handle)
        p.setFont(QFont(self.font().family(), 9))
        p.drawText(handle, Qt.AlignmentFlag.AlignCenter, "◀▶")
        font = QFont(self.font().family(), 9)
        font.setBold(True)
        p.setFont(font)
        corner_label(p, self.before_label, QRectF(8, self.height() - 34, x - 16, 26), left=True)
        corner_label(p, self.banner or "AFTER", QRectF(x + 8, self.height() - 34, self.width() - x - 16, 26))

    # --- input ---

    def _update_cursor_shape(self) -> None:
        if self._drag == "pan":
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif self.tool in BRUSH_TOOLS:
            self.setCursor(Qt.CursorShape.BlankCursor)  # the brush outline is the cursor
        else:
            self.setCursor(Qt.CursorShape.CrossCursor)

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self._update_cursor_shape()
        self.update()

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = float(radius)
        self._refresh_cursor()

    def _cursor_rect(self) -> QRect:
        if self._cursor is None:
            return QRect()
        rx = self.brush_radius * self.zoom * self.aspect[0] + 4
        ry = self.brush_radius * self.zoom * self.aspect[1] + 4
        return QRectF(self._cursor.x() - rx, self._cursor.y() - ry, 2 * rx, 2 * ry).toAlignedRect()

    def _refresh_cursor(self, pos: QPointF | None = None) -> None:
        """Move the brush outline: repaint its old and new rectangles only."""
        old = self._cursor_rect()
        if pos is not None:
            self._cursor = pos
        self.update(old.united(self._cursor_rect()))

    def _near_split(self, pos: QPointF) -> bool:
        return (
            self.compare == "split"
            and self._before is not None
            and abs(pos.x() - self.split * self.width()) < 14
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        button = event.button()
        self.setFocus()
        self._drag_start = self.to_image(pos)
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._drag, self._drag_offset = "pan", pos - self.offset
        elif button == Qt.MouseButton.RightButton:
            self._drag, self._drag_offset = "window", pos
            self.window_drag_begin.emit()
        elif button == Qt.MouseButton.LeftButton and self._near_split(pos):
            self._drag = "split"
        elif button == Qt.MouseButton.LeftButton and self._base is not None:
            if self.tool in BRUSH_TOOLS:
                self._drag = "paint"
                self.paint_begin.emit(self._drag_start.x(), self._drag_start.y())
            elif self.tool == "rect":
                self._drag, self._rect_end = "rect", self._drag_start
            elif self.tool == "lasso":
                self._drag, self._lasso = "lasso", [self._drag_start]
            elif self.tool == "fill":
                self.fill_clicked.emit(self._drag_start.x(), self._drag_start.y())
        self._update_cursor_shape()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        point = self.to_image(pos)
        if self._drag == "pan":
            self._fit_mode = False
            self._set_view(self.zoom, pos - self._drag_offset)
        elif self._drag == "window":
            delta = pos - self._drag_offset
            self.window_drag.emit(delta.x(), delta.y())
        elif self._drag == "split":
            self.split = min(max(pos.x() / max(self.width(), 1), 0.0), 1.0)
            self.update()
        elif self._drag == "paint":
            self.paint_move.emit(point.x(), point.y())
        elif self._drag == "rect":
            self._rect_end = point
            self.update()
        elif self._drag == "lasso":
            last = self.to_widget(self._lasso[-1])
            if (pos - last).manhattanLength() >= 3:
                self._lasso.append(point)
                self.update()
        if self.tool in BRUSH_TOOLS:
            self._refresh_cursor(pos)
        elif self._near_split(pos):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self._drag is None:
            self._update_cursor_shape()
        self.hovered.emit(point.x(), point.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        drag, self._drag = self._drag, None
        point = self.to_image(event.position())
        if drag == "paint":
            self.paint_end.emit()
        elif drag == "window":
            self.window_drag_end.emit()
        elif drag == "rect":
            a = self._drag_start
            self.rect_drawn.emit(a.x(), a.y(), point.x(), point.y())
        elif drag == "lasso":
            self._lasso.append(point)
            points = [(q.x(), q.y()) for q in self._lasso]
            self._lasso = []
            if len(points) >= 3:
                self.lasso_drawn.emit(points)
        self._update_cursor_shape()
        self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802
        old = self._cursor_rect()
        self._cursor = None
        self.update(old)
        self.left.emit()
        super().leaveEvent(event)

    def enterEvent(self, event) -> None:  # noqa: N802
        # Image editors take keyboard focus on hover so Space, [ and ] work without a click.
        if not self.hasFocus() and self.window().isActiveWindow():
            self.setFocus()
        super().enterEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            return
        held = event.modifiers()
        # a series of slices is wheeled through, as viewers of scans do (Ctrl+wheel zooms there)
        steps = self.wheel_steps_slices and not held & Qt.KeyboardModifier.ControlModifier
        if steps or held & Qt.KeyboardModifier.ShiftModifier:
            # a slice a notch (120): a trackpad's many small deltas add up to the same
            self._wheel_turned += delta
            notches = int(self._wheel_turned / 120)
            self._wheel_turned -= notches * 120
            for _ in range(abs(notches)):
                self.slice_step.emit(1 if notches < 0 else -1)
        else:
            self.zoom_by(1.0015**delta, event.position())
            if self.tool in BRUSH_TOOLS:
                self._refresh_cursor(event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self._update_cursor_shape()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor_shape()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def cursor_in_view(self) -> bool:
        return self.rect().contains(self.mapFromGlobal(QCursor.pos()))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(900, 700)
