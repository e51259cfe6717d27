"""What the canvas shows of the image controller's state: the windowed frame, the mask overlay, the
before/after comparison (split, hold X, difference map) and a running method's previews.

Window/level drags are coalesced to one rendering per event-loop turn, and on huge images rendered
subsampled while the mouse moves.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor

from core.io.uncertainty_map import latest_summary
from core.repair import stored_step
from core.repair.units import unit_name
from desktop.qimage import (
    Frame,
    difference_map,
    display_frame,
    heat_overlay,
    new_overlay,
    outline,
    overlay_lut,
    paint_overlay,
)
from desktop.widgets.canvas import Canvas
from desktop.workspaces.image.controller import ImageController

PREVIEW_PIXELS = 1_500_000  # above this, window/level drags show a subsampled rendering


# A photo's values in the units of its file: a change of 37 reads as 37 of 255 levels.
FULL_SCALE = {"uint8": " of 255", "uint16": " of 65535"}


def enlargement(before: np.ndarray, after: np.ndarray) -> int | None:
    """The whole factor (2-8) a picture's frames (F, H, W, C) were enlarged by, if that is all that
    changed their shape (an upscale)."""
    (f0, h0, w0, c0), (f1, h1, w1, c1) = before.shape, after.shape
    factor = h1 // max(h0, 1)
    if (f0, c0) != (f1, c1) or not 2 <= factor <= 8 or (h1, w1) != (h0 * factor, w0 * factor):
        return None
    return factor


class CanvasPresenter(QObject):
    status = Signal(str)

    def __init__(self, controller: ImageController, canvas: Canvas, color: QColor, opacity: float):
        super().__init__(controller)
        self.c, self.canvas = controller, canvas
        self.overlay: Frame | None = None
        self.lut = overlay_lut(color, opacity)
        self.wl_dragging = False
        self.base_pending = False
        self.showing_preview = False
        self.flipped = False  # X held
        self.split = False
        self.show_diff = False
        self.against_original = False  # compare with the picture before every repair, not the last one
        self.show_uncertainty = False  # the diff layer shows a fill's uncertainty map instead
        self._heat_described = False  # the status bar describes a difference or uncertainty map
        # the repair whose filled mask is unpacked, that mask, and the outline of one of its slices
        self._filled_of, self._filled = None, None
        self._outline_frame: int | None = None
        self._outline: Frame | None = None
        # the bicubic reference an enlargement is compared with, and what it was made of
        self._reference_of: tuple | None = None  # (pixels, frame, factor): by identity, as _filled_of
        self._reference_frame: np.ndarray | None = None

    # --- the frame ---

    def render_base(self, new_document: bool = False) -> None:
        c, canvas = self.c, self.canvas
        doc = c.doc
        if doc is None:
            canvas.set_base(None)
            canvas.set_overlay(None)
            canvas.set_before(None)
            canvas.set_diff(None)
            canvas.set_marks(None)
            canvas.banner = ""
            self.overlay = None
            return
        canvas.set_orientation(*c.orientation)  # before the base: a new document is fitted mirrored
        canvas.set_base(display_frame(c.current_pixels(), c.window, c.invert), c.aspect)
        canvas.banner = c.banner()
        h, w = doc.pixels.shape[1:3]
        if self.overlay is None or self.overlay.buffer.shape != (h, w) or new_document:
            self.overlay = new_overlay(h, w)
            paint_overlay(self.overlay, c.masks.peek(c.frame), self.lut)
            canvas.set_overlay(self.overlay)

    def schedule_base(self) -> None:
        """Coalesce window/level changes: render once per event-loop turn, not per mouse move."""
        if not self.base_pending:
            self.base_pending = True
            QTimer.singleShot(0, self._render_pending)

    def _render_pending(self) -> None:
        if not self.base_pending:
            return
        self.base_pending = False
        c = self.c
        pixels = c.current_pixels() if c.doc is not None else None
        if self.wl_dragging and pixels is not None and pixels.shape[0] * pixels.shape[1] > PREVIEW_PIXELS:
            # Dragging the window on a huge image: render every k-th pixel so it follows the mouse.
            k = int(np.ceil(np.sqrt(pixels.shape[0] * pixels.shape[1] / PREVIEW_PIXELS)))
            self.canvas.replace_base_image(display_frame(pixels[::k, ::k], c.window, c.invert))
            return
        self.render_base()
        self.render_before()

    def frame_changed(self, frame: int) -> None:
        self.render_base()
        if self.overlay is not None:
            paint_overlay(self.overlay, self.c.masks.peek(frame), self.lut)
        self.render_before()
        self.canvas.update()

    # --- the mask ---

    def mask_changed(self, frame: int, box) -> None:
        c = self.c
        if frame != c.frame or self.overlay is None:
            return
        mask = c.masks.peek(frame)
        if box is None or mask is None:
            paint_overlay(self.overlay, mask, self.lut)
            self.canvas.update()
        else:
            paint_overlay(self.overlay, mask, self.lut, box)
            self.canvas.update_image_rect(box.y0, box.y1, box.x0, box.x1)

    def set_overlay_style(self, color: QColor, opacity: float) -> None:
        self.lut = overlay_lut(color, opacity)
        if self.overlay is not None:
            paint_overlay(self.overlay, self.c.masks.peek(self.c.frame), self.lut)
            self.canvas.update()

    # --- before / after ---

    def _render_uncertainty(self) -> bool:
        """The fill's uncertainty map in the heat layer, when asked for and the document has one."""
        c = self.c
        spread = getattr(c.doc, "uncertainty", None)
        if not (self.show_uncertainty and spread is not None and spread.shape == c.doc.pixels.shape[:3]):
            return False
        heat, peak, count = heat_overlay(spread[min(c.frame, spread.shape[0] - 1)])
        self.canvas.set_diff(heat)
        summary = latest_summary(c.doc)
        units = summary.get("units", "")
        self._heat_described = True
        self.status.emit(
            f"Fill uncertainty on this slice: up to {peak:.4g} {units} over {count} pixels "
            f"(whole fill: mean {summary.get('mean', 0):.4g}, max {summary.get('max', 0):.4g} {units})"
        )
        return True

    def render_before(self) -> None:
        c, canvas = self.c, self.canvas
        repair = c.last_repair() if c.doc is not None else None
        if repair is None:
            canvas.set_before(None)
            canvas.set_marks(None)
            if not self._render_uncertainty():  # a reopened result's map needs no repair done here
                self._hide_heat()
            self.set_compare_mode()
            return
        earlier = repair.before
        if self.against_original:
            first = c.original_before()
            if first.pixels.shape == c.doc.pixels.shape or enlargement(first.pixels, c.doc.pixels):
                earlier = first
            else:  # resized otherwise since: the two cannot be laid over each other
                self.status.emit("The original has another size: compared with the last step.")
        before = earlier.pixels
        frame = min(c.frame, before.shape[0] - 1)
        factor = enlargement(before, c.doc.pixels)
        shown = self._reference(before, frame, factor) if factor else before[frame]
        canvas.set_before(display_frame(shown, c.window, c.invert))
        canvas.set_marks(self._fill_outline(repair, frame))
        names = [p.method for p in earlier.provenance if p.task != "detect"]
        canvas.before_label = "BEFORE — " + (" → ".join(names) if names else "original")
        if factor:  # an upscaler is judged against bicubic, not against pixel blocks (walk-through 43)
            canvas.before_label += f", bicubic ×{factor}"
        drawn = self._render_uncertainty()
        if not drawn and self.show_diff and before.shape == c.doc.pixels.shape:
            kept_step = stored_step(c.doc)
            diff, peak, count = difference_map(before[frame], c.current_pixels(), (kept_step or 0.0) / 2)
            canvas.set_diff(diff)
            self._heat_described = True
            units = f" {unit_name(c.doc)}" if c.doc.kind == "volume" else FULL_SCALE.get(c.doc.dtype, "")
            shown = "every repair" if earlier is not repair.before else c.doc.provenance[-1].method
            scan = kept_step and c.doc.kind == "volume"  # what a save keeps: half a stored step
            by = f" by {kept_step / 2:g}{units} or more" if scan else ""
            self.status.emit(
                f"Difference map of {shown}: {count} pixels changed{by}, largest change {peak:.4g}{units}"
            )
        elif not drawn:
            self._hide_heat()
            if self.show_diff:  # resized: no pixel of the result has one before it to differ from
                self.status.emit(
                    "No difference map for a result of another size (enlarged): compare in the split view."
                )
        self.set_compare_mode()

    def _reference(self, before: np.ndarray, frame: int, factor: int) -> np.ndarray:
        """A frame of a smaller picture enlarged by bicubic to the result's size, kept per (picture,
        frame): the split and hold-X then lay result and reference pixel over pixel at every zoom."""
        kept = self._reference_of
        if kept is None or kept[0] is not before or kept[1:] != (frame, factor):
            import torch

            from core.imresize import torch_upsample

            planes = torch.from_numpy(np.ascontiguousarray(before[frame].transpose(2, 0, 1), np.float32))
            enlarged = torch_upsample(planes, factor).numpy().transpose(1, 2, 0)  # the window clips overshoot
            self._reference_of, self._reference_frame = (before, frame, factor), enlarged
        return self._reference_frame

    def _fill_outline(self, repair, frame: int) -> Frame | None:
        """On a scan, the outline of what a repair filled on this slice, and a frame round a slice
        that slice fills made whole: a clinician must never take a fill for anatomy once the mask
        hides itself. Kept per (repair, slice): window/level drags and slice steps render this often."""
        made = frame in self.c.made_slices()
        if (repair.filled_bits is None and not made) or self.c.doc.kind != "volume":
            return None
        if self._filled_of is not repair:  # unpacked once per repair, not per slice step
            self._filled_of, self._filled = repair, repair.spent(None, self.c.doc.pixels.shape[:3])
            self._outline_frame = None
        if self._outline_frame != frame:
            region = np.ones_like(self._filled[frame]) if made else self._filled[frame]
            self._outline_frame, self._outline = frame, outline(region)
        return self._outline

    def _hide_heat(self) -> None:
        """No map over the picture, and no status line describing one (an undo or a toggle hid it)."""
        self.canvas.set_diff(None)
        if self._heat_described:
            self._heat_described = False
            self.status.emit("")

    def set_compare_mode(self) -> None:
        has_before = self.canvas.has_before()
        if self.flipped and has_before:
            mode = "flip"
        elif self.split and has_before:
            mode = "split"
        else:
            mode = "off"
        if mode != self.canvas.compare:
            self.canvas.compare = mode
            self.canvas.update()

    # --- a running method's intermediate results ---

    def show_preview(self, report, title: str) -> None:
        found = self.c.preview_frame(report)
        if found is None:
            return
        frame, pixels = found
        if frame != self.c.frame:
            return
        self.canvas.set_base(display_frame(pixels, self.c.window, self.c.invert))
        self.canvas.banner = f"PREVIEW — {title} (not applied yet)"
        self.showing_preview = True

    def withdraw_preview(self) -> None:
        if self.showing_preview:
            self.showing_preview = False
            self.render_base()
