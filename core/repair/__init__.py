"""The one entry point used by the CLI and the desktop: repair(document, task, ...).

`repair` is a generator: it yields `Progress` after each tile or iteration and returns the repaired
document (a new object; the input document is never modified). Drive it with `run_repair` when
progress is not needed. Cancel by closing the generator or setting `ctx.cancel_event`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from core.documents import AudioDoc, Document, ImageDoc, Provenance, VolumeDoc
from core.errors import MethodError
from core.methods import choose_method
from core.repair.masks import RepairMask, split_params
from core.runtime.context import Progress, RunContext, drive, relay
from core.tasks import task as get_task
from core.version import __version__


def normalise(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    scale = (hi - lo) or 1.0
    return ((pixels - lo) / scale).astype(np.float32)


def denormalise(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    return (np.clip(pixels, 0.0, 1.0) * ((hi - lo) or 1.0) + lo).astype(np.float32)


def repair(
    document: Document,
    task: str,
    method: str | None = None,
    mask: np.ndarray | None = None,
    ctx: RunContext | None = None,
    frames: list[int] | None = None,
    **params: Any,
) -> Generator[Progress, None, Document]:
    """Repair `document` for `task` with `method` (the task's default if None).

    `mask`: the painted alpha, (H, W) or (frames, H, W), applied by the mask contract
    (core.repair.masks: non-zero = repair, dilate, feather, the rest kept); for audio, the selection the
    audio methods document. `frames`: only these frames of a volume (default: all).
    """
    task_info = get_task(task)
    ctx = ctx or RunContext()
    ctx.restart_clock()
    chosen, fallback = choose_method(task, method)
    if fallback:
        ctx.note(fallback)
    card = chosen.card
    if card.task != task:
        raise MethodError(f"method {card.id!r} is for {card.task!r}, not {task!r}")
    if task == "detect":
        raise MethodError("detection proposes a mask and repairs nothing: use `lacuna detect` or --detect")
    if not card.available:
        raise MethodError(f"method {card.id!r} cannot run: {card.unavailable_reason}")
    resolved = card.resolve_params(params)
    provenance = Provenance(
        method=card.id,
        task=task,
        params={k: v for k, v in resolved.items()},
        source=str(getattr(document, "path", "") or ""),
        version=__version__,
        date=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )

    if document.kind == "video":
        from core.video.drive import repair_video

        result = yield from repair_video(document, chosen, mask, ctx, frames, resolved, task_info.resizes)
        result.provenance = [*document.provenance, provenance]
        return result
    if card.operates_on == "video":
        raise MethodError(f"method {card.id!r} works on video, not on {document.kind} documents")

    if isinstance(document, AudioDoc):
        if card.operates_on != "audio":
            raise MethodError(f"method {card.id!r} works on images, not audio")
        result = yield from chosen.run(document, mask, ctx, **resolved)
        result.provenance = [*document.provenance, provenance]
        return result

    if card.operates_on == "audio":
        raise MethodError(f"method {card.id!r} works on audio, not images")
    if card.needs_mask and mask is None:
        raise MethodError(f"method {card.id!r} needs a mask: paint what should be repaired")
    mask_params, run_params = split_params(resolved)
    painted = (
        None if mask is None else RepairMask.from_painted(mask, document.pixels.shape[:3], **mask_params)
    )
    value_range = document.value_range
    source = document.pixels

    if card.operates_on == "volume":
        normed = normalise(source, value_range)
        holes = painted.holes() if painted is not None else None
        stacks = document.stacks()
        outs = []
        for n, part in enumerate(stacks):  # a 4-D series: one time point at a time
            sub = ctx.sub(n / len(stacks), (n + 1) / len(stacks))
            run = chosen.run(normed[part], None if holes is None else holes[part], sub, **run_params)
            outs.append((yield from _previews_in_units(run, value_range, None, source[part], None)))
        out = np.concatenate(outs)
        result_pixels = denormalise(out, value_range)
        if out.shape == normed.shape:
            # Voxels the method left alone (the slices it did not refill) come back bit-identical,
            # free of the normalise/denormalise rounding.
            result_pixels = np.where(out == normed, source, result_pixels)
    else:
        todo = list(range(source.shape[0])) if frames is None else list(frames)
        result_frames: dict[int, np.ndarray] = {}
        for n, index in enumerate(todo):
            if painted is not None and not painted.painted(index) and not task_info.resizes:
                continue  # nothing painted on this frame: leave it exactly as it is
            sub = ctx.sub(n / len(todo), (n + 1) / len(todo))
            normed = normalise(source[index], value_range)
            hole = painted.hole(index) if painted is not None else None
            run = chosen.run(normed, hole, sub, **run_params)
            out = yield from _previews_in_units(run, value_range, painted, source, index)
            result_frames[index] = denormalise(out, value_range)
        result_pixels = _assemble(source, result_frames)

    if painted is not None and result_pixels.shape == source.shape:
        # The mask contract: outside the (grown) hole the source comes back bit-identical, inside it
        # the method's values, blended over soft and feathered edges (core.repair.masks).
        result_pixels = painted.composite(source, result_pixels)
    result = document.with_pixels(result_pixels)
    if result_pixels.shape[1:3] != source.shape[1:3] and hasattr(result, "spacing"):
        # a resized result: the same extent in more (or fewer) pixels
        s, r, c = result.spacing
        result.spacing = (
            s,
            r * source.shape[1] / result_pixels.shape[1],
            c * source.shape[2] / result_pixels.shape[2],
        )
    result.provenance = [*document.provenance, provenance]
    yield ctx.progress(1.0, "done")
    return result


def _previews_in_units(run, value_range, painted: RepairMask | None, source: np.ndarray, frame: int | None):
    """Relay a method's progress; a preview becomes what the result would be now, in document units
    and kept to the mask, tagged with the frame it shows (None: the whole stack)."""

    def in_units(report: Progress) -> Progress:
        if report.preview is None:
            return report
        preview = denormalise(np.asarray(report.preview, np.float32), value_range)
        if painted is not None and frame is None and preview.shape == source.shape:
            preview = painted.composite(source, preview)
        elif painted is not None and frame is not None and preview.shape == source.shape[1:]:
            preview = painted.composite_frame(frame, source[frame], preview)
        report.preview, report.frame = preview, frame
        return report

    return relay(run, in_units)


def _assemble(source: np.ndarray, done: dict[int, np.ndarray]) -> np.ndarray:
    """Stack repaired frames, keeping untouched frames as they were."""
    if not done:
        return source.copy()
    sample = next(iter(done.values()))
    if sample.shape == source.shape[1:]:
        out = source.copy()
        for index, frame in done.items():
            out[index] = frame
        return out
    # Resizing methods (upscale) change every frame's shape: all frames must have been processed.
    return np.stack([done[i] for i in range(source.shape[0])])


def run_repair(
    document: Document,
    task: str,
    on_progress: Callable[[Progress], None] | None = None,
    **kwargs: Any,
) -> Document:
    """Drive `repair` to the end, calling `on_progress` for each report."""
    return drive(repair(document, task, **kwargs), on_progress)


__all__ = ["repair", "run_repair", "normalise", "denormalise", "ImageDoc", "VolumeDoc", "AudioDoc"]
