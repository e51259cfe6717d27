"""The image workspace's state and actions, without a window: the view of the document (slice,
window/level), the masks, mask editing, undo of strokes and repairs, and repair jobs.

Images, multi-page files and volumes (CT, MR, NIfTI) are all frame stacks here. Widgets call these
methods and redraw on the signals. The document itself belongs to the session; repairs run through
core's `repair()` on a `JobRunner`, which applies the mask contract (the result is used as is).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.documents import Document, Provenance
from core.errors import LacunaError
from desktop.history import GLOBAL, Entry
from desktop.jobs import JobRunner, describe_error
from desktop.mask_model import MaskEdit, MaskStack, stroke_segment
from desktop.proposal import with_origin
from desktop.qimage import PRESETS, auto_window
from desktop.session import Session
from desktop.workspaces.image.repairs import RepairEdit, RepairPlan, plan_repair


class ImageController(QObject):
    document_changed = Signal(bool)  # True: a new document (refit the view); False: new pixels
    frame_changed = Signal(int)
    mask_changed = Signal(int, object)  # frame, Box of the change or None for the whole frame
    window_changed = Signal()
    error = Signal(str)
    withdrawn = Signal(str)  # an error said earlier that no longer holds
    status = Signal(str)

    def __init__(self, session: Session, settings=None, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.jobs = JobRunner(self, "Cancelled — the image is unchanged.")
        self.masks = MaskStack(1, 1, 1)
        self.frame = 0
        self.window: tuple[float, float] = (127.5, 255.0)
        self.opening_window = self.window  # what the file opened with: a photo shows no L/W until changed
        self.invert = False
        self._orientation: tuple[object, tuple] = (None, ((False, False), None))  # (document, its view)
        self.brush_radius = 20.0
        self.brush_hardness = 0.8
        self.fill_tolerance = 0.0
        self._fill_refused = False  # the status bar shows the fill tool's refusal
        self._mask_refused = ""  # the notice of a mask file refused, while it holds
        self._source: Document | None = None  # the document the running repair started from
        self._last_point: tuple[float, float] | None = None
        self._erase = False
        self._stroke_label = "brush"
        # Where a mask came from when it was not painted (Detect damage sets it): a provenance step.
        self.mask_origin: Callable[[np.ndarray], Provenance | None] | None = None
        self._made_for: Document | None = None  # the document `_made` (its made slices) belongs to
        self._made: dict[int, str] = {}

    # --- the document ---

    @property
    def doc(self):
        return self.session.document_of("image", "volume")

    @property
    def history(self):
        return self.session.history

    @property
    def frames(self) -> int:
        doc = self.doc
        return int(doc.pixels.shape[0]) if doc is not None else 0

    @property
    def volume(self) -> bool:
        return self.doc is not None and self.doc.kind == "volume"

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    @property
    def generation(self) -> int:
        return self.jobs.generation

    def show_new_document(self) -> None:
        """The session opened another document: fresh masks and view, the autosave restored."""
        self.jobs.drop()
        self.frame = 0
        doc = self.doc
        if doc is not None:
            frames, h, w = doc.pixels.shape[:3]
            self.masks = MaskStack(frames, h, w)
            if self.volume and frames > 2:
                # the middle of a series shows the anatomy, not an end slice (of the first time point)
                self.frame = getattr(doc, "slices", frames) // 2
            self.invert = getattr(doc, "photometric", "") == "MONOCHROME1"
            self.window = self.opening_window = self.initial_window()
            restored = self.session.start_autosave(self.masks.shape)
            if restored is not None:
                self.masks = restored
        else:
            self.masks = MaskStack(1, 1, 1)
        self.document_changed.emit(True)
        self.frame_changed.emit(self.frame)
        self.window_changed.emit()

    def initial_window(self) -> tuple[float, float]:
        """The file's own window; for photos the full range of the stored type."""
        doc = self.doc
        window = getattr(doc, "window", None)
        if window is not None and window[1] > 0:
            return float(window[0]), float(window[1])
        if getattr(doc, "dtype", "") in ("uint8", "uint16"):
            lo, hi = doc.value_range
            return (lo + hi) / 2.0, hi - lo
        return auto_window(self.current_pixels(), body=self.body_modality)

    @property
    def body_modality(self) -> str | None:
        """The scan's modality for a window from the body ("" unknown); None for photos."""
        return str(getattr(self.doc, "modality", "")) if self.volume else None

    @property
    def hu_presets_apply(self) -> bool:
        """The Lung/Brain/... windows are in Hounsfield units: for CT volumes (a NIfTI that names no
        modality is one when it reaches air, core.methods.modality.is_ct), not for photos or MR."""
        from core.methods.modality import is_ct

        return bool(self.volume) and is_ct(self.doc)

    def current_pixels(self) -> np.ndarray:
        return self.doc.pixels[self.frame]

    def set_frame(self, frame: int) -> None:
        if self.doc is None:
            return
        frame = min(max(int(frame), 0), self.frames - 1)
        if frame != self.frame:
            self.cancel_stroke()
            self.frame = frame
            self.frame_changed.emit(frame)
            self.session.history_changed.emit()  # undo is per slice

    def step_frame(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

    @property
    def orientation(self) -> tuple[tuple[bool, bool], dict[str, str] | None]:
        """How the view mirrors a scan's slice and the patient direction at each edge
        (core.io.orientation); nothing for a photo."""
        from core.io.orientation import screen_directions, view_mirror

        doc = self.doc
        if doc is None:
            return (False, False), None
        if self._orientation[0] is not doc:
            self._orientation = (doc, (view_mirror(doc), screen_directions(doc)))
        return self._orientation[1]

    def made_slices(self) -> dict[int, str]:
        """The slices of the scan shown that slice fills made whole, with the method of each (its
        record, followed through later insertions); worked out once per document."""
        doc = self.doc
        if doc is None or not self.volume:
            return {}
        if self._made_for is not doc:
            from core.methods.fill_slice import made_slices

            self._made_for, self._made = doc, made_slices(doc.provenance, doc.frames)
        return self._made

    @property
    def aspect(self) -> tuple[float, float]:
        """Display size of a pixel (x, y) from the pixel spacing (row, column)."""
        if self.volume:
            _, row, col = self.doc.spacing
            if row > 0 and col > 0 and abs(row / col - 1) > 1e-3:
                smallest = min(row, col)
                return col / smallest, row / smallest
        return 1.0, 1.0

    def frame_noun(self) -> str:
        """What one frame of the document is called: a volume's slice, a multi-page file's page."""
        from core.io.geometry import frames_over_time

        if frames_over_time(self.doc):  # an ultrasound or X-ray cine loop
            return "Frame"
        return "Slice" if self.volume or self.doc is None else "Page"

    def slice_description(self) -> str:
        doc = self.doc
        if doc is None or self.frames <= 1:
            return ""
        points = getattr(doc, "time_points", 1)
        if points > 1:  # a 4-D series: frame t * slices + k
            slices = self.frames // points
            text = f"{self.frame_noun()} {self.frame % slices + 1} / {slices}"
            text += f"   time point {self.frame // slices + 1} / {points}"
        else:
            text = f"{self.frame_noun()} {self.frame + 1} / {self.frames}"
        from core.io.geometry import slice_positions

        positions = slice_positions(doc)
        if len(positions) == self.frames:
            from core.io.describe import slice_position

            text += f"   at {slice_position(positions[self.frame])}"
        metadata = getattr(doc, "metadata", None) or {}
        each = metadata.get("slice_thicknesses") or []  # a series whose slices differ in thickness
        thickness = each[self.frame] if len(each) == self.frames else metadata.get("slice_thickness")
        made_by = self.made_slices().get(self.frame)
        if made_by:  # an inserted or refilled slice reads like an acquired one otherwise (a walk-through)
            return f"{text}   made by {made_by}, not acquired"
        if thickness:
            text += f"   {thickness:.3g} mm thick"
        return text

    def value_at(self, x: float, y: float) -> str:
        """'x, y: value' for the status bar (HU for CT), or '' outside the image."""
        doc = self.doc
        if doc is None:
            return ""
        col, row = int(np.floor(x)), int(np.floor(y))
        _, h, w, c = doc.pixels.shape
        if not (0 <= row < h and 0 <= col < w):
            return ""
        values = doc.pixels[self.frame, row, col]
        if c == 1:
            unit = " HU" if getattr(doc, "modality", "") == "CT" else ""
            text = f"{_format_value(float(values[0]))}{unit}"
        else:
            text = "  ".join(f"{name} {_format_value(float(v))}" for name, v in zip("RGBA", values))
        return f"x {col}  y {row}   {text}"

    # --- window / level ---

    def set_window(self, centre: float, width: float) -> None:
        self.window = (float(centre), max(float(width), 1e-3))
        self.window_changed.emit()

    def apply_preset(self, name: str) -> None:
        if self.doc is None:
            return
        if name == "File":
            self.set_window(*self.initial_window())
        elif name == "Auto":
            self.set_window(*auto_window(self.current_pixels(), body=self.body_modality))
        elif self.hu_presets_apply:
            self.set_window(*PRESETS[name])

    def window_sensitivity(self) -> float:
        """Window units per screen pixel of right-drag: a full drag across ~500 px spans the range."""
        if self.doc is None:
            return 1.0
        lo, hi = self.doc.value_range
        return max((hi - lo) / 500.0, 1e-3)

    # --- mask editing ---

    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        if self.doc is None or self.masks.editing:
            return
        mask = self.masks.begin(self.frame)
        self._erase = erase
        self._stroke_label = "eraser" if erase else "brush"
        self._last_point = (x, y)
        swept = self.masks.sweeping(erase)
        box = self.masks.touch(
            stroke_segment(mask, (x, y), (x, y), self.brush_radius, self.brush_hardness, erase, swept)
        )
        self.mask_changed.emit(self.frame, box)

    def stroke_to(self, x: float, y: float) -> None:
        if not self.masks.editing or self._last_point is None:
            return
        mask = self.masks.get(self.frame)
        swept = self.masks.sweeping(self._erase)
        box = stroke_segment(
            mask, self._last_point, (x, y), self.brush_radius, self.brush_hardness, self._erase, swept
        )
        self._last_point = (x, y)
        self.mask_changed.emit(self.frame, self.masks.touch(box))

    def end_stroke(self) -> None:
        if not self.masks.editing:
            return
        self._last_point = None
        self._record(self.masks.end(self._stroke_label))

    def cancel_stroke(self) -> None:
        box = self.masks.cancel()
        if box is not None:
            self.mask_changed.emit(self.frame, box)

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, erase: bool = False) -> None:
        if self.doc is not None:
            self._one_shot(self.masks.rectangle(self.frame, (x0, y0), (x1, y1), erase))

    def lasso(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        if self.doc is not None:
            self._one_shot(self.masks.lasso(self.frame, points, erase))

    def fill(self, x: float, y: float, erase: bool = False) -> None:
        if self.doc is None:
            return
        image = None
        if self.fill_tolerance > 0:
            pixels = self.current_pixels()
            image = pixels[..., 0] if pixels.shape[-1] == 1 else pixels[..., :3].mean(axis=-1)
        elif not erase and fills_outside(self.masks.peek(self.frame), x, y, self.doc.pixels.shape[1:3]):
            # a click outside every outline would mask the picture around them (a walk-through: all of it)
            around = "the picture around the outlines" if self.masks.any(self.frame) else "the whole picture"
            self.status.emit(
                f"Nothing is enclosed there: the fill would mask {around}. Brush an outline and click"
                " inside it, or set a Fill tolerance to fill by colour."
            )
            self._fill_refused = True
            return
        self._one_shot(self.masks.fill(self.frame, x, y, erase, image, self.fill_tolerance))
        if self._fill_refused:  # the refusal said before this fill no longer holds
            self._fill_refused = False
            self.status.emit("")

    def invert_mask(self) -> None:
        if self.doc is not None:
            self._one_shot(self.masks.invert(self.frame))

    def clear_mask(self) -> None:
        self.clear_frame_mask(self.frame)

    def clear_frame_mask(self, frame: int) -> None:
        if self.doc is not None:
            self._one_shot(self.masks.clear(frame))

    def grow_mask(self, pixels: float) -> None:
        if self.doc is not None:
            self._one_shot(self.masks.grow(self.frame, pixels))

    def shrink_mask(self, pixels: float) -> None:
        if self.doc is not None:
            self._one_shot(self.masks.shrink(self.frame, pixels))

    def _one_shot(self, result) -> None:
        edit, box = result
        if edit is not None:
            self.mask_changed.emit(self.frame, box)
        self._record(edit)

    def record_edit(self, edit: MaskEdit | None) -> None:
        """Push a mask edit made outside the tools (a detection's proposal) as one undo step."""
        self._record(edit)

    def _record(self, edit: MaskEdit | None) -> None:
        if edit is None:
            return
        self.history.push(Entry(edit.lane, edit.label, edit, edit.nbytes))
        journal = self.session.autosave
        if journal is not None:
            journal.record_edit(edit)
            if journal.needs_compaction():
                journal.compact(self.masks)
        self.session.history_changed.emit()

    def mask_fraction(self) -> float:
        mask = self.masks.peek(self.frame)
        return 0.0 if mask is None else float(np.count_nonzero(mask)) / mask.size

    def load_mask(self, path: str | Path) -> bool:
        """Replace the current slice's mask by an image file (non-zero = repair), or every slice's by
        a volume on a scan's grid (a NIfTI mask): one undo step."""
        doc = self.doc
        if doc is None:
            return False
        path = Path(path)
        try:
            from core.io.masks import read_mask, read_scan_mask

            if doc.kind == "volume":
                loaded = read_scan_mask(path, doc)
            else:
                loaded = read_mask(path, doc.pixels.shape[1:3])
        except Exception as exc:  # noqa: BLE001
            self._mask_refused = describe_error(exc, f"Loading the mask {path.name}")
            self.error.emit(self._mask_refused)
            return False
        if self._mask_refused:  # a mask that loads answers the refusal of one before it
            self.withdrawn.emit(self._mask_refused)
            self._mask_refused = ""
        alphas = np.rint(loaded * 255.0).astype(np.uint8)  # soft edges kept
        full = self.masks.as_array()
        if alphas.ndim == 3:
            full[:] = alphas
            marked = int(np.count_nonzero(alphas.reshape(len(alphas), -1).any(axis=1)))
            where = f" on {marked} of {len(alphas)} slices"
        else:
            full[self.frame] = alphas
            where = ""
        self._record(self.masks.replace_all(full, label="load mask"))
        self.mask_changed.emit(self.frame, None)
        self.status.emit(f"Mask loaded from {path.name}{where}")
        return True

    def save_mask(self, path: str | Path) -> Path | None:
        """Save the current slice's mask as an 8-bit PNG, soft edges included (as core reads it back)."""
        doc = self.doc
        if doc is None:
            return None
        path = Path(path)
        if doc.path is not None and path.resolve() == Path(doc.path).resolve():
            self.error.emit("Lacuna never overwrites the original: choose another name for the mask.")
            return None
        try:
            from core.io.masks import write_mask

            mask = self.masks.peek(self.frame)
            mask = np.zeros(doc.pixels.shape[1:3], np.uint8) if mask is None else mask
            # The person confirmed the file name in the save dialog, so an old mask file is replaced.
            written = Path(write_mask(mask, path, overwrite=True))  # soft edges kept
        except Exception as exc:  # noqa: BLE001
            self.error.emit(describe_error(exc, f"Saving the mask {path.name}"))
            return None
        where = f" (slice {self.frame + 1})" if self.frames > 1 else ""
        self.status.emit(f"Mask{where} saved to {written}")
        return written

    # --- undo / redo ---

    def can_undo(self) -> bool:
        return self.history.can_undo(self.frame)

    def can_redo(self) -> bool:
        return self.history.can_redo(self.frame)

    def undo_label(self) -> str:
        entry = self.history.peek_undo(self.frame)
        return entry.label if entry else ""

    def redo_label(self) -> str:
        entry = self.history.peek_redo(self.frame)
        return entry.label if entry else ""

    def undo(self) -> None:
        self.cancel_stroke()
        entry = self.history.undo(self.frame)
        if entry is not None:
            self._apply(entry, undo=True)

    def redo(self) -> None:
        self.cancel_stroke()
        entry = self.history.redo(self.frame)
        if entry is not None:
            self._apply(entry, undo=False)

    def _apply(self, entry: Entry, undo: bool) -> None:
        payload = entry.payload
        if isinstance(payload, MaskEdit):
            for frame, box in self.masks.apply(payload, undo):
                if frame == self.frame:
                    self.mask_changed.emit(frame, box)
            if self.session.autosave is not None:
                self.session.autosave.record_step(payload, undo)
        elif isinstance(payload, RepairEdit):
            doc, masks = (
                (payload.before, payload.before_masks) if undo else (payload.after, payload.after_masks)
            )
            self._replace_document(doc, masks)
        self.status.emit(("Undid " if undo else "Redid ") + entry.label)
        self.session.history_changed.emit()

    def _replace_document(self, doc: Document, masks: MaskStack) -> None:
        """Swap the pixels (a repair or its undo); a result still being computed is now outdated."""
        self.jobs.drop()
        reshaped = masks is not self.masks
        self.masks = masks
        if reshaped:
            # The autosave and the stroke history describe masks of the old shape.
            self.history.drop_frame_edits(lambda entry: isinstance(entry.payload, MaskEdit))
            self.session.close_autosave(discard=True)
            self.frame = min(self.frame, int(doc.pixels.shape[0]) - 1)
        self.session.replace(doc)
        self.document_changed.emit(reshaped)
        if reshaped:
            self.mask_changed.emit(self.frame, None)

    # --- compare ---

    def last_repair(self) -> RepairEdit | None:
        """The repair that produced the document shown, if it is one."""
        entry = self.history.last(RepairEdit)
        if entry is not None and entry.payload.after is self.doc:
            return entry.payload
        return None

    def original_before(self) -> Document | None:
        """The document before the first of the repairs that led to the one shown (the picture as
        opened, when every repair since is still in the history): Compare with the Original."""
        repair = self.last_repair()
        return None if repair is None else self.history.first_before(repair, RepairEdit)

    def banner(self) -> str:
        doc = self.doc
        if doc is None or not doc.provenance:
            return ""
        return "REPAIRED — " + " → ".join(p.method for p in doc.provenance)

    # --- repairs ---

    def repair_plan(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        current_slice_only: bool = False,
        limit_to_mask: bool = True,
    ) -> RepairPlan:
        """What `run_repair` would fill (mask and frames); a LacunaError says why it cannot run."""
        from core.methods import get_method

        card = get_method(method).card
        return plan_repair(card, self.masks, self.frame, params, current_slice_only, limit_to_mask)

    def run_repair(
        self,
        task: str,
        method: str,
        params: dict[str, Any] | None = None,
        current_slice_only: bool = False,
        limit_to_mask: bool = True,
    ) -> bool:
        """Start a repair on the worker thread; False (with a message) when it cannot start."""
        doc = self.doc
        if doc is None:
            self.error.emit("Open an image first.")
            return False
        self.cancel_stroke()
        try:
            from core.methods import get_method

            card = get_method(method).card
            plan = plan_repair(card, self.masks, self.frame, params, current_slice_only, limit_to_mask)
        except LacunaError as exc:
            self.error.emit(str(exc))
            return False
        mask, frames, params = plan.mask, plan.frames, plan.params
        origin = None if mask is None or self.mask_origin is None else self.mask_origin(mask)
        selection = painted_selection(mask, frames, origin is not None)
        filled = None  # what the repair fills, for a detection on its result: only a mask it fills
        if mask is not None and card.needs_mask:
            filled = np.zeros(mask.shape, bool)
            on = slice(None) if frames is None else frames
            filled[on] = np.asarray(mask)[on] > 0

        from core.runtime.context import RunContext

        ctx = RunContext(**self.run_settings())
        source = doc

        def start():
            from core.repair import repair  # imported on the worker: the window never waits for it

            return repair(source, task, method, mask, ctx, frames, **params)

        self._source = source
        self.jobs.start(
            card.name,
            start,
            lambda result: self._finished(card.name, source, result, origin, filled, selection),
            ctx.cancel_event,
            ctx,
        )
        return True

    def run_settings(self) -> dict[str, Any]:
        """The RunContext fields the preferences decide (device, precision, tile, memory cap)."""
        if self.settings is None:
            return {}
        return self.settings.run_settings()

    def cancel_job(self) -> None:
        self.jobs.cancel()

    def shutdown(self, timeout: float = 3.0) -> bool:
        return self.jobs.shutdown(timeout)

    def _finished(
        self, label: str, source: Document, result: Document, origin=None, filled=None, selection=""
    ) -> None:
        if self.doc is not source:  # never apply a result to another document
            return
        if selection:  # which pixels are invented, for the record; the engine's line names the frames
            step = result.provenance[-1]
            step.selection = "; ".join(part for part in (selection, step.selection) if part)
        with_origin(result, origin)  # a mask from Detect damage: its step goes before the repair's
        same_shape = result.pixels.shape == source.pixels.shape
        after_masks = self.masks if same_shape else MaskStack(*result.pixels.shape[:3])
        spent = (
            (RepairEdit.pack(filled), RepairEdit.pack(self.masks.brushed())) if same_shape else (None, None)
        )
        edit = RepairEdit(source, result, self.masks, after_masks, *spent)
        self.history.push(Entry(GLOBAL, label, edit, edit.nbytes))
        self._replace_document(result, after_masks)
        self.session.history_changed.emit()

    def preview_frame(self, report) -> tuple[int, np.ndarray] | None:
        """An intermediate result of the running repair as (frame, pixels in document units): core
        maps previews to document units and says which frame they show (volumes included)."""
        preview, frame = getattr(report, "preview", None), getattr(report, "frame", None)
        doc = self.doc
        if preview is None or doc is None or frame is None or preview.shape != doc.pixels.shape[1:]:
            return None
        return frame, np.asarray(preview, np.float32)


def fills_outside(mask: np.ndarray | None, x: float, y: float, shape: tuple[int, int]) -> bool:
    """Whether a mask-region fill clicked at (x, y) would fill the outside of every outline: an
    unmasked region that reaches all four edges of the picture (an outline closed against an edge
    encloses a region that reaches two at most)."""
    from skimage.segmentation import flood

    held = np.zeros(shape, bool) if mask is None else np.asarray(mask) > 0
    col, row = int(np.floor(x)), int(np.floor(y))
    if not (0 <= row < shape[0] and 0 <= col < shape[1]) or held[row, col]:
        return False
    region = flood(held, (row, col))
    return bool(region[0].any() and region[-1].any() and region[:, 0].any() and region[:, -1].any())


def painted_selection(mask: np.ndarray | None, frames: list[int] | None, detected: bool) -> str:
    """What a repair in the app was limited to, for its record as the CLI's 'mask m.png' is: 'mask
    painted in the app: 4,210 pixels (1.61% of the slice) on slice 15 of 28 (counted from 1)', the
    share of the slices painted, not of the series; '' without a mask."""
    if mask is None:
        return ""
    held, of, on = np.asarray(mask) > 0, "the picture", ""
    if held.ndim == 3 and len(held) > 1:  # a series: the slices painted, as the viewer numbers them
        from core.repair.request import frame_runs

        chosen = sorted(set(frames)) if frames is not None else range(len(held))
        painted = [k for k in chosen if held[k].any()]
        if not painted:
            return ""
        held, several = held[painted], len(painted) > 1
        of = "those slices" if several else "the slice"
        where = frame_runs([k + 1 for k in painted])
        on = f" on slice{'s' if several else ''} {where} of {len(mask)} (counted from 1)"
    how = "proposed by Detect damage" if detected else "painted"  # edited or not: the detection step says
    return f"mask {how} in the app: {int(held.sum()):,} pixels ({held.mean() * 100:.2f}% of {of}){on}"


def _format_value(value: float) -> str:
    if abs(value - round(value)) < 1e-4:
        return str(int(round(value)))
    return f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"


__all__ = ["ImageController", "RepairEdit"]
