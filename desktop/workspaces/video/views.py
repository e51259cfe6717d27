"""The video workspace's views: the frame with its mask, a timeline with damage markers and the range,
transport."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop.workspaces.video.controller import VideoController

MARKER_COLORS = {
    "dropped": QColor("#e74c3c"),
    "duplicate": QColor("#f39c12"),
    "undecodable": QColor("#c0392b"),
    "corrupt": QColor("#9b59b6"),
    "blocky": QColor("#8e44ad"),
    "cut": QColor("#3498db"),
}
REBUILT_COLOR = QColor("#2ecc71")  # frames a repair made
MASK_COLOR = (255, 40, 40, 120)


def rgb_image(frame: np.ndarray) -> QImage:
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def mask_image(mask: np.ndarray) -> QImage:
    """The mask as a translucent red overlay."""
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[mask > 0] = MASK_COLOR
    h, w = mask.shape
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class FrameView(QWidget):
    """The current frame, scaled to fit with its aspect kept, the mask over it; a label in the corner
    in before mode. With a `tool` ("brush" or "eraser"), dragging paints: `stroke` reports ("begin",
    "move" or "end", x, y) in frame pixels."""

    stroke = Signal(str, float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._mask: QImage | None = None
        self.show_mask = True
        self.tool: str | None = None
        self.caption = ""
        self.waiting = False
        self.split = False  # the left half is the frame before the repair: a divider and its own label

    def show_frame(self, frame: np.ndarray | None, caption: str = "", split: bool = False) -> None:
        self._image = rgb_image(frame) if frame is not None else None
        self.caption, self.waiting, self.split = caption, False, split
        self.update()

    def show_waiting(self, caption: str) -> None:
        """The frame shown stays, dimmed under `caption`, while the one asked for is being made."""
        self.caption, self.waiting, self.split = caption, True, False
        self.update()

    def set_mask(self, mask: np.ndarray | None) -> None:
        self._mask = mask_image(mask) if mask is not None and mask.any() else None
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def frame_rect(self) -> QRectF | None:
        """Where the frame is drawn, in widget coordinates."""
        if self._image is None:
            return None
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x, y = (self.width() - size.width()) / 2, (self.height() - size.height()) / 2
        return QRectF(x, y, size.width(), size.height())

    def to_frame(self, point: QPointF) -> tuple[float, float] | None:
        rect = self.frame_rect()
        if rect is None or rect.width() <= 0:
            return None
        scale = self._image.width() / rect.width()
        return (point.x() - rect.x()) * scale, (point.y() - rect.y()) * scale

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        at = self.to_frame(event.position()) if self.tool else None
        if at is not None:
            self.stroke.emit("begin", *at)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        at = self.to_frame(event.position()) if self.tool else None
        if at is not None and event.buttons():
            self.stroke.emit("move", *at)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self.tool:
            self.stroke.emit("end", 0.0, 0.0)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 26, 28))
        if self._image is None:
            painter.setPen(QColor(150, 150, 150))
            text = self.caption if self.waiting else "This frame cannot be decoded"
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, text)
            return
        rect = self.frame_rect()
        x, y = rect.x(), rect.y()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self._image)
        if self._mask is not None and self.show_mask and self._mask.size() == self._image.size():
            painter.drawImage(rect, self._mask)
        if self.waiting:
            painter.fillRect(rect, QColor(0, 0, 0, 140))
        painter.setPen(QColor(255, 255, 255))
        if self.split:
            middle = x + rect.width() / 2
            painter.drawLine(QPointF(middle, y), QPointF(middle, y + rect.height()))
            self._label(painter, x + 8, y + 8, "BEFORE")
        if self.caption:
            self._label(painter, x + rect.width() / 2 + 8 if self.split else x + 8, y + 8, self.caption)

    @staticmethod
    def _label(painter: QPainter, x: float, y: float, text: str) -> None:
        painter.fillRect(QRectF(x, y, 12 + 7 * len(text), 22), QColor(0, 0, 0, 160))
        painter.drawText(QPointF(x + 6, y + 16), text)


def runs_of(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted frame numbers as (first, last) runs: a whole film repaired is one band, not a tick per frame."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


class Timeline(QWidget):
    """One tick per frame position; damage as coloured markers; the range as a band; click to seek,
    drag to select a range."""

    seek = Signal(int)
    select = Signal(int, int)

    def __init__(self, controller: VideoController, parent: QWidget | None = None):
        super().__init__(parent)
        self.c = controller
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._press: int | None = None

    def frame_at(self, x: float) -> int:
        count = max(self.c.frame_count, 1)
        return int(min(max((x - 6) / max(self.width() - 12, 1) * count, 0), count - 1))

    def x_of(self, index: float) -> float:
        count = max(self.c.frame_count, 1)
        return 6 + (index + 0.5) / count * (self.width() - 12)

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(36, 39, 43))
        h = self.height()
        painter.fillRect(QRectF(6, h / 2 - 3, self.width() - 12, 6), QColor(70, 75, 82))
        if self.c.selection is not None:
            a, b = self.c.selection
            left, right = self.x_of(a - 0.5), self.x_of(b + 0.5)
            painter.fillRect(QRectF(left, 4, max(right - left, 2), h - 8), QColor(58, 140, 220, 90))
        for d in self.c.damage:
            color = MARKER_COLORS.get(d.kind, QColor("#ecf0f1"))
            x = self.x_of(d.frame + (0.5 if d.kind == "dropped" else 0))
            painter.setPen(QPen(color, 3 if d.kind != "cut" else 2))
            top = 6 if d.kind != "cut" else 2
            painter.drawLine(QPointF(x, top), QPointF(x, h - top))
        for first, last in runs_of(sorted(self.c.made_frames())):  # what a repair made, along the bottom
            left, right = self.x_of(first - 0.5), self.x_of(last + 0.5)
            painter.fillRect(QRectF(left, h - 5, max(right - left, 2), 4), REBUILT_COLOR)
        x = self.x_of(self.c.index)
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, h))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press = self.frame_at(event.position().x())
        self.seek.emit(self._press)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is not None:
            here = self.frame_at(event.position().x())
            if here != self._press:
                self.select.emit(self._press, here)
            self.seek.emit(here)

    def mouseReleaseEvent(self, _event) -> None:  # noqa: N802
        self._press = None


class VideoPanel(QWidget):
    """Frame, timeline and transport (Home, ←, play, →, End), with the frame's number and time."""

    def __init__(self, controller: VideoController, parent: QWidget | None = None):
        super().__init__(parent)
        self.c = controller
        self.frame_view = FrameView()
        self.timeline = Timeline(controller)
        self.position = QLabel("")
        self.buttons: dict[str, QPushButton] = {}
        transport = QHBoxLayout()
        for name, text, slot in (
            ("first", "|<", controller.first),
            ("back", "<", lambda: controller.step(-1)),
            ("play", "Play", self.play_or_stop),
            ("forward", ">", lambda: controller.step(1)),
            ("last", ">|", controller.last),
        ):
            button = QPushButton(text)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(slot)
            self.buttons[name] = button
            transport.addWidget(button)
        transport.addWidget(self.position, 1)
        self.compare = ""  # "split", "difference" or "" (set_compare)
        self.scan_text = QLabel("")
        transport.addWidget(self.scan_text)
        layout = QVBoxLayout(self)
        layout.addWidget(self.frame_view, 1)
        layout.addWidget(self.timeline)
        layout.addLayout(transport)
        self.player = QTimer(self)
        self.player.timeout.connect(self._tick)
        self.timeline.seek.connect(controller.go)
        self.timeline.select.connect(controller.set_selection)
        controller.frame_changed.connect(self.refresh)
        controller.document_shown.connect(self.refresh)
        controller.damage_changed.connect(self.timeline.update)
        controller.mask_changed.connect(lambda: self.frame_view.set_mask(controller.mask))
        self.frame_view.stroke.connect(self._stroke)

    def refresh(self, *_args) -> None:
        c = self.c
        if c.doc is None:
            self.frame_view.show_frame(None)
            self.position.setText("")
            return
        frame = c.frame()
        if frame is None and c.making():
            self.frame_view.show_waiting(f"making frame {c.index + 1}…")
        made = c.made_frames().get(c.index)
        if frame is not None or not c.making():
            caption = "before" if c.showing_before else (f"REPAIRED — {made}" if made else "")
            split = False
            if self.compare and frame is not None and not c.showing_before:
                frame, caption, split = self._compared(frame, made)
            self.frame_view.show_frame(frame, caption, split)
        marks = [d.kind for d in c.damage if d.frame == c.index] + ([f"repaired ({made})"] if made else [])
        text = f"frame {c.index + 1} / {c.frame_count}   {c.time():.3f} s"
        if c.selection is not None:
            text += f"   range {c.selection[0] + 1}–{c.selection[1] + 1}"
        if marks:
            text += "   " + ", ".join(marks)
        self.position.setText(text)
        self.timeline.update()

    def set_compare(self, mode: str) -> None:
        """ "split": the frame's left half as it was before the last repair; "difference": how much
        each pixel changed (×4); "": the frame as it is."""
        self.compare = mode
        self.refresh()

    def _compared(self, frame: np.ndarray, made: str | None) -> tuple[np.ndarray, str, bool]:
        """The frame as the comparison shows it, its caption, and whether it is split in two."""
        before = self.c.before_frame()
        if before is None:
            if self.c.previous() is None:
                return frame, "no repair to compare with", False
            why = "making the frame before…" if self.c.making() else "the frame before cannot be decoded"
            return frame, why, False
        if before.shape != frame.shape:  # an enlargement
            return frame, "the repair changed the frame size: nothing to lay side by side", False
        change = np.abs(frame.astype(np.int16) - before.astype(np.int16)).max(axis=-1)
        # an inserted frame had none before it: compared with the nearest one, and said so
        inserted = made == "inserted"
        if self.compare == "difference":
            shown = np.clip(change * 4, 0, 255).astype(np.uint8)
            nearest = " (an inserted frame, set against the nearest frame before)" if inserted else ""
            caption = f"DIFFERENCE ×4 — {int(np.count_nonzero(change))} pixels changed{nearest}"
            return np.repeat(shown[..., None], 3, axis=-1), caption, False
        half = frame.shape[1] // 2
        split = frame.copy()
        split[:, :half] = before[:, :half]
        # a filter's frames (dust, flicker) are changed in place, not "made": the pixels say which
        what = made or ("repaired" if change.any() else "unchanged by the repair")
        nearest = " (set against the nearest frame before)" if inserted else ""
        return split, f"AFTER — {what}{nearest}", True

    def _stroke(self, phase: str, x: float, y: float) -> None:
        c, erase = self.c, self.frame_view.tool == "eraser"
        if phase == "begin":
            c.begin_stroke(x, y, erase)
        elif phase == "move":
            c.stroke_to(x, y)
        else:
            c.end_stroke()

    def set_scan_text(self, text: str) -> None:
        self.scan_text.setText(f"Looking for damage: {text}" if text else "")

    def play_or_stop(self) -> None:
        if self.player.isActive() or self.c.doc is None:
            self.stop()
            return
        rate = float(self.c.doc.info.rate or 25)
        self.player.start(int(1000 / max(rate, 1)))
        self.buttons["play"].setText("Stop")

    def stop(self) -> None:
        self.player.stop()
        self.buttons["play"].setText("Play")

    def _tick(self) -> None:
        if self.c.index >= self.c.frame_count - 1:
            self.stop()
            return
        if self.c.making():
            return  # playing through a repair not made yet: each frame is shown once it is made
        self.c.step(1)
