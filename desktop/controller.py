"""The document, its masks, the undo history and the repair jobs: everything the window shows.

The controller is the only place that changes state. Widgets call its methods and redraw on its
signals. It talks to `core` through the public API (core.io, core.methods, core.repair) and never
imports torch: the repair generator imports what a method needs on the worker thread.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.documents import Document, ImageDoc, VolumeDoc
from core.errors import LacunaError
from desktop.autosave import Autosave
from desktop.mask_model import GLOBAL, Box, Entry, History, MaskEdit, MaskStack, bounding_box, stroke_segment
from desktop.qimage import PRESETS, auto_window
from desktop.workers import Job


@dataclass
class RepairEdit:
    """A history entry for a repair: both documents, and both mask stacks when the shape changed."""

    before: Document
    after: Document
    before_masks: MaskStack
    after_masks: MaskStack
    method: str
    task: str

    @property
    def nbytes(self) -> int:
        return int(self.before.pixels.nbytes + self.after.pixels.nbytes)


@dataclass
class RunSettings:
    """What the preferences decide about a run (core.runtime.context.RunContext fields)."""

    device: str = "auto"
    precision: str = "auto"
    tile: int = 0
    memory_limit_mb: int = 0


def describe_error(exc: BaseException, what: str) -> str:
    """A one-line message a person can act on, for any failure."""
    name = type(exc).__name__
    text = str(exc).strip()
    if isinstance(exc, MemoryError) or name == "OutOfMemoryError" or "out of memory" in text.lower():
        return (
            f"{what} ran out of memory. Lower the tile size or the memory cap in Preferences, "
            "or choose the CPU as device."
        )
    if isinstance(exc, LacunaError):
        return text
    return f"{what} failed: {name}: {text}" if text else f"{what} failed: {name}"


class Controller(QObject):
    document_changed = Signal(bool)  # True: a new document (refit the view); False: new pixels
    frame_changed = Signal(int)
    mask_changed = Signal(int, object)  # frame, Box of the change or None for the whole frame
    window_changed = Signal()
    history_changed = Signal()
    job_started = Signal(str)
    job_progress = Signal(object)  # core Progress
    job_done = Signal(str)
    job_failed = Signal(str)
    job_cancelled = Signal(str)
    error = Signal(str)  # shown in the window's notice bar
    status = Signal(str)  # a transient status-bar message

    def __init__(self, autosave_root: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.doc: Document | None = None
        self.saved_doc: Document | None = None  # the document last written by save_as
        self.masks = MaskStack(1, 1, 1)
        self.history = History()
        self.frame = 0
        self.window: tuple[float, float] = (127.5, 255.0)
        self.invert = False
        self.brush_radius = 20.0
        self.brush_hardness = 0.8
        self.fill_tolerance = 0.0
        self.run_settings = RunSettings()
        self.generation = 0  # bumped whenever a pending result becomes unwanted
        self.job: Job | None = None
        self._old_jobs: list[Job] = []
        self._job_source: Document | None = None
        self._job_label = ""
        self._job_mask: np.ndarray | None = None
        self._last_point: tuple[float, float] | None = None
        self._erase = False
        self._stroke_label = "brush"
        self.autosave_root = autosave_root
        self.autosave: Autosave | None = None
        self.ask_restore: Callable[[Autosave], bool] = lambda session: True

    # --- documents ---

    @property
    def image_doc(self) -> ImageDoc | VolumeDoc | None:
        return self.doc if isinstance(self.doc, ImageDoc | VolumeDoc) else None

    @property
    def frames(self) -> int:
        doc = self.image_doc
        return int(doc.pixels.shape[0]) if doc is not None else 0

    def open(self, path: str | Path) -> bool:
        """Read a file or series folder; errors go to the notice bar, never up."""
        path = Path(path)
        try:
            import core.io

            doc = core.io.read(path)
        except Exception as exc:  # noqa: BLE001 — a reader bug must not take the window down
            if not isinstance(exc, LacunaError):
                traceback.print_exc(file=sys.stderr)
            self.error.emit(describe_error(exc, f"Opening {path.name}"))
            return False
        self.set_document(doc)
        return True

    def set_document(self, doc: Document | None) -> None:
        self._drop_job()
        self.close_autosave(discard=True)
        self.doc = doc
        self.history.clear()
        self.frame = 0
        image = self.image_doc
        if image is not None:
            frames, h, w = image.pixels.shape[:3]
            self.masks = MaskStack(frames, h, w)
            if isinstance(image, VolumeDoc) and frames > 2:
                self.frame = frames // 2  # the middle of a series shows the anatomy, not an end slice
            self.invert = isinstance(image, VolumeDoc) and image.photometric == "MONOCHROME1"
            self.window = self.initial_window()
            self._start_autosave()
        else:
            self.masks = MaskStack(1, 1, 1)
        self.document_changed.emit(True)
        self.frame_changed.emit(self.frame)
        self.window_changed.emit()
        self.history_changed.emit()

    def initial_window(self) -> tuple[float, float]:
        """The file's own window; for photos the full range of the stored type."""
        doc = self.image_doc
        if isinstance(doc, VolumeDoc) and doc.window is not None and doc.window[1] > 0:
            return float(doc.window[0]), float(doc.window[1])
        if isinstance(doc, ImageDoc) and doc.dtype in ("uint8", "uint16"):
            lo, hi = doc.value_range
            return (lo + hi) / 2.0, hi - lo
        return auto_window(self.current_pixels())

    def current_pixels(self) -> np.ndarray:
        return self.image_doc.pixels[self.frame]

    def set_frame(self, frame: int) -> None:
        if self.image_doc is None:
            return
        frame = min(max(int(frame), 0), self.frames - 1)
        if frame != self.frame:
            self.cancel_stroke()
            self.frame = frame
            self.frame_changed.emit(frame)
            self.history_changed.emit()

    def step_frame(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

    @property
    def aspect(self) -> tuple[float, float]:
        """Display size of a pixel (x, y) from the pixel spacing (row, column)."""
        doc = self.image_doc
        if isinstance(doc, VolumeDoc):
            _, row, col = doc.spacing
            if row > 0 and col > 0 and abs(row / col - 1) > 1e-3:
                smallest = min(row, col)
                return col / smallest, row / smallest
        return 1.0, 1.0

    def slice_description(self) -> str:
        doc = self.image_doc
        if doc is None or self.frames <= 1:
            return ""
        text = f"Slice {self.frame + 1} / {self.frames}"
        if isinstance(doc, VolumeDoc) and len(doc.positions) == self.frames:
            text += f"   z = {doc.positions[self.frame]:.2f} mm"
        return text

    def value_at(self, x: float, y: float) -> str:
        """'x, y: value' for the status bar (HU for CT), or '' outside the image."""
        doc = self.image_doc
        if doc is None:
            return ""
        col, row = int(np.floor(x)), int(np.floor(y))
        _, h, w, c = doc.pixels.shape
        if not (0 <= row < h and 0 <= col < w):
            return ""
        values = doc.pixels[self.frame, row, col]
        if c == 1:
            value = _format_value(float(values[0]))
            unit = " HU" if isinstance(doc, VolumeDoc) and doc.modality == "CT" else ""
            text = f"{value}{unit}"
        else:
            text = "  ".join(f"{name} {_format_value(float(v))}" for name, v in zip("RGBA", values))
        return f"x {col}  y {row}   {text}"

    # --- window / level ---

    def set_window(self, centre: float, width: float) -> None:
        self.window = (float(centre), max(float(width), 1e-3))
        self.window_changed.emit()

    def apply_preset(self, name: str) -> None:
        if name == "File":
            self.set_window(*self.initial_window())
        elif name == "Auto":
            self.set_window(*auto_window(self.current_pixels()))
        else:
            self.set_window(*PRESETS[name])

    def window_sensitivity(self) -> float:
        """Window units per screen pixel of right-drag: a full drag across ~500 px spans the range."""
        doc = self.image_doc
        if doc is None:
            return 1.0
        lo, hi = doc.value_range
        return max((hi - lo) / 500.0, 1e-3)

    # --- mask editing ---

    def _editable(self) -> bool:
        return self.image_doc is not None

    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        if not self._editable() or self.masks.editing:
            return
        mask = self.masks.begin(self.frame)
        self._erase = erase
        self._stroke_label = "eraser" if erase else "brush"
        self._last_point = (x, y)
        box = self.masks.touch(
            stroke_segment(mask, (x, y), (x, y), self.brush_radius, self.brush_hardness, erase)
        )
        self.mask_changed.emit(self.frame, box)

    def stroke_to(self, x: float, y: float) -> None:
        if not self.masks.editing or self._last_point is None:
            return
        mask = self.masks.get(self.frame)
        box = stroke_segment(
            mask, self._last_point, (x, y), self.brush_radius, self.brush_hardness, self._erase
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
        if self._editable():
            self._one_shot(self.masks.rectangle(self.frame, (x0, y0), (x1, y1), erase))

    def lasso(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        if self._editable():
            self._one_shot(self.masks.lasso(self.frame, points, erase))

    def fill(self, x: float, y: float, erase: bool = False) -> None:
        if not self._editable():
            return
        image = None
        if self.fill_tolerance > 0:
            pixels = self.current_pixels()
            image = pixels[..., 0] if pixels.shape[-1] == 1 else pixels[..., :3].mean(axis=-1)
        self._one_shot(self.masks.fill(self.frame, x, y, erase, image, self.fill_tolerance))

    def invert_mask(self) -> None:
        if self._editable():
            self._one_shot(self.masks.invert(self.frame))

    def clear_mask(self) -> None:
        if self._editable():
            self._one_shot(self.masks.clear(self.frame))

    def grow_mask(self, pixels: float) -> None:
        if self._editable():
            self._one_shot(self.masks.grow(self.frame, pixels))

    def shrink_mask(self, pixels: float) -> None:
        if self._editable():
            self._one_shot(self.masks.shrink(self.frame, pixels))

    def _one_shot(self, result: tuple[MaskEdit | None, Box]) -> None:
        edit, box = result
        if edit is not None:
            self.mask_changed.emit(self.frame, box)
        self._record(edit)

    def _record(self, edit: MaskEdit | None) -> None:
        if edit is None:
            return
        self.history.push(Entry(edit.lane, edit.label, edit, edit.nbytes))
        if self.autosave is not None:
            self.autosave.record_edit(edit)
            if self.autosave.needs_compaction():
                self.autosave.compact(self.masks)
        self.history_changed.emit()

    def mask_fraction(self) -> float:
        mask = self.masks.peek(self.frame)
        return 0.0 if mask is None else float(np.count_nonzero(mask)) / mask.size

    def load_mask(self, path: str | Path) -> bool:
        """Replace the current slice's mask by an image file (non-zero = repair): one undo step."""
        doc = self.image_doc
        if doc is None:
            return False
        path = Path(path)
        try:
            from core.io.masks import read_mask

            loaded = read_mask(path, doc.pixels.shape[1:3])
        except Exception as exc:  # noqa: BLE001
            self.error.emit(describe_error(exc, f"Loading the mask {path.name}"))
            return False
        full = self.masks.as_array()
        full[self.frame] = np.where(loaded, 255, 0).astype(np.uint8)
        self._record(self.masks.replace_all(full, label="load mask"))
        self.mask_changed.emit(self.frame, None)
        self.status.emit(f"Mask loaded from {path.name}")
        return True

    def save_mask(self, path: str | Path) -> Path | None:
        """Save the current slice's mask as an 8-bit PNG (feathered edges count as marked)."""
        doc = self.image_doc
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
            # The user confirmed the file name in the save dialog, so an old mask file is replaced.
            written = Path(write_mask(mask > 0, path, overwrite=True))
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
            if self.autosave is not None:
                self.autosave.record_step(payload, undo)
        elif isinstance(payload, RepairEdit):
            doc, masks = (
                (payload.before, payload.before_masks) if undo else (payload.after, payload.after_masks)
            )
            self._replace_document(doc, masks)
        self.status.emit(("Undid " if undo else "Redid ") + entry.label)
        self.history_changed.emit()

    def _replace_document(self, doc: Document, masks: MaskStack) -> None:
        """Swap the pixels (a repair or its undo); a result still being computed is now outdated."""
        self._drop_job()
        reshaped = masks is not self.masks
        self.doc, self.masks = doc, masks
        if reshaped:
            self.history.drop_mask_lanes()
            self.close_autosave(discard=True)  # the autosave describes masks of the file's shape
            self.frame = min(self.frame, self.frames - 1)
        self.document_changed.emit(reshaped)
        if reshaped:
            self.mask_changed.emit(self.frame, None)

    # --- compare ---

    def last_repair(self) -> RepairEdit | None:
        """The repair that produced the document shown, if it is one."""
        stack = self.history._undo.get(GLOBAL) or []
        for entry in reversed(stack):
            if isinstance(entry.payload, RepairEdit):
                return entry.payload if entry.payload.after is self.doc else None
        return None

    def banner(self) -> str:
        doc = self.image_doc
        if doc is None or not doc.provenance:
            return ""
        return "REPAIRED — " + " → ".join(p.method for p in doc.provenance)

    # --- repairs ---

    @property
    def busy(self) -> bool:
        return self.job is not None

    def run_repair(
        self,
        task: str,
        method: str,
        params: dict[str, Any] | None = None,
        current_slice_only: bool = False,
        limit_to_mask: bool = True,
    ) -> bool:
        """Start a repair on the worker thread; False (with a message) when it cannot start."""
        doc = self.image_doc
        if doc is None:
            self.error.emit("Open an image first.")
            return False
        try:
            from core.methods import get_method

            card = get_method(method).card
        except LacunaError as exc:
            self.error.emit(str(exc))
            return False
        if not card.available:
            self.error.emit(f"{card.name} cannot run: {card.unavailable_reason}")
            return False
        self.cancel_stroke()
        self._drop_job()

        painted = self.masks.any()
        soft = self.masks.as_array() if painted else None
        if card.needs_mask and not painted:
            self.error.emit(
                f"{card.name} repairs the marked pixels: paint the damage first (B for the brush)."
            )
            return False
        use_mask = painted and (card.needs_mask or limit_to_mask) and task != "upscale"
        mask = (soft > 0) if use_mask else None
        frames = None
        if card.operates_on != "volume" and self.frames > 1:
            if current_slice_only:
                frames = [self.frame]
            elif card.needs_mask:
                frames = self.masks.painted_frames()

        from core.runtime.context import RunContext

        s = self.run_settings
        ctx = RunContext(
            device=s.device, precision=s.precision, tile=s.tile, memory_limit_mb=s.memory_limit_mb
        )
        self.generation += 1
        generation = self.generation
        source = self.doc
        params = dict(params or {})

        def start():
            from core.repair import repair  # imported on the worker: the window never waits for it

            return repair(source, task, method, mask, ctx, frames, **params)

        self._job_label = card.name
        self._job_mask = soft if use_mask else None
        self._job_source = source
        job = Job(generation, start, ctx.cancel_event)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self.job_started.emit(card.name)
        job.start()
        return True

    def cancel_job(self) -> None:
        if self.job is None:
            return
        self._drop_job()
        self.job_cancelled.emit("Cancelled — the image is unchanged.")

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Cancel every job and wait for their threads (quitting while torch runs would abort)."""
        self.cancel_job()
        deadline = time.monotonic() + timeout
        for job in self._old_jobs:
            if not job.wait(max(deadline - time.monotonic(), 0.0)):
                return False
        self._old_jobs = []
        return True

    def _drop_job(self) -> None:
        """Forget the running job: cancel it and make any late reply outdated."""
        if self.job is not None:
            self.job.cancel()
            # Keep the QObject alive until its thread has ended (it still emits into the void).
            self._old_jobs = [j for j in self._old_jobs if j.running] + [self.job]
            self.job = None
            self.generation += 1

    def _current(self, generation: int) -> bool:
        return self.job is not None and generation == self.generation

    def _on_progress(self, generation: int, report) -> None:
        if self._current(generation):
            self.job_progress.emit(report)

    def _on_finished(self, generation: int, result) -> None:
        if not self._current(generation):
            self.status.emit("An outdated repair result was dropped.")
            return
        job_label, source, soft = self._job_label, self._job_source, self._job_mask
        self.job = None
        if self.doc is not source:  # cannot happen while the job is current, but never apply to another doc
            return
        result = blend_result(source, result, soft)
        same_shape = result.pixels.shape == source.pixels.shape
        after_masks = self.masks if same_shape else MaskStack(*result.pixels.shape[:3])
        provenance = result.provenance[-1] if result.provenance else None
        edit = RepairEdit(
            source,
            result,
            self.masks,
            after_masks,
            provenance.method if provenance else "",
            provenance.task if provenance else "",
        )
        self.history.push(Entry(GLOBAL, job_label, edit, edit.nbytes))
        self._replace_document(result, after_masks)
        self.history_changed.emit()
        self.job_done.emit(f"{job_label} finished.")

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if not self._current(generation):
            return
        self.job = None
        if not isinstance(exc, LacunaError | MemoryError) and type(exc).__name__ != "OutOfMemoryError":
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        message = describe_error(exc, self._job_label)
        self.job_failed.emit(message)
        self.error.emit(message)

    def _on_cancelled(self, generation: int) -> None:
        if self._current(generation):  # cancelled from inside (the method raised CancelledError)
            self.job = None
            self.job_cancelled.emit("Cancelled — the image is unchanged.")

    # --- saving ---

    def default_save_path(self) -> Path | None:
        doc = self.doc
        if doc is None or doc.path is None:
            return None
        src = Path(doc.path)
        task = doc.provenance[-1].task if doc.provenance else "copy"
        if src.is_dir():
            return src.parent / f"{src.name}_{task}"
        suffix = src.suffix if src.suffix else ".dcm" if getattr(doc, "format", "") == "DICOM" else ".png"
        stem = src.name[: -len(".nii.gz")] if src.name.endswith(".nii.gz") else src.stem
        suffix = ".nii.gz" if src.name.endswith(".nii.gz") else suffix
        candidate = src.with_name(f"{stem}_{task}{suffix}")
        n = 2
        while candidate.exists():
            candidate = src.with_name(f"{stem}_{task}_{n}{suffix}")
            n += 1
        return candidate

    def save_as(self, path: str | Path) -> Path | None:
        doc = self.doc
        if doc is None:
            return None
        path = Path(path)
        if doc.path is not None and path.resolve() == Path(doc.path).resolve():
            self.error.emit("Lacuna never overwrites the original: choose another name.")
            return None
        try:
            import core.io

            written = Path(core.io.write(doc, path))
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, LacunaError):
                traceback.print_exc(file=sys.stderr)
            self.error.emit(describe_error(exc, f"Saving {path.name}"))
            return None
        self.saved_doc = doc
        self.status.emit(f"Saved {written}")
        return written

    # --- autosave ---

    def _start_autosave(self) -> None:
        doc = self.image_doc
        if self.autosave_root is None or doc is None or doc.path is None:
            return
        session = Autosave(self.autosave_root, Path(doc.path), self.masks.shape)
        if session.exists() and session.matches_shape():
            if self.ask_restore(session):
                try:
                    masks, history = session.restore(self.history.cap_bytes)
                except Exception as exc:  # noqa: BLE001 — a damaged autosave must not block opening
                    self.error.emit(f"The autosaved mask could not be restored: {exc}")
                else:
                    self.masks, self.history = masks, history
                    self.status.emit(f"Restored {session.count} mask edits from the autosave.")
                    session.resume()
                    self.autosave = session
                    return
            session.discard()
        session.start()
        self.autosave = session

    def close_autosave(self, discard: bool) -> None:
        if self.autosave is not None:
            if discard:
                self.autosave.discard()
            self.autosave = None


def blend_result(source: Document, result: Document, soft: np.ndarray | None) -> Document:
    """Blend a same-sized result into the source through the soft mask (feathered brush edges).

    Where the mask is 0 the source is kept bit for bit, where it is 255 the result is taken as is.
    """
    if soft is None or result.pixels.shape != source.pixels.shape:
        return result
    out = result.pixels.copy()
    for frame in range(soft.shape[0]):
        mask = soft[frame]
        box = bounding_box(mask)
        inside = np.zeros(mask.shape, bool)
        inside[box.slices] = True
        keep = ~inside | (mask == 0)
        out[frame][keep] = source.pixels[frame][keep]
        if box.empty:
            continue
        ys, xs = box.slices
        alpha = (mask[ys, xs].astype(np.float32) / 255.0)[..., None]
        partial = (alpha > 0) & (alpha < 1)
        src, res = source.pixels[frame, ys, xs], result.pixels[frame, ys, xs]
        blended = src + (res - src) * alpha
        region = out[frame, ys, xs]
        np.copyto(region, blended, where=np.broadcast_to(partial, region.shape))
    return result.with_pixels(out)


def _format_value(value: float) -> str:
    if abs(value - round(value)) < 1e-4:
        return str(int(round(value)))
    return f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"


__all__ = ["Controller", "RepairEdit", "RunSettings", "blend_result", "describe_error"]
