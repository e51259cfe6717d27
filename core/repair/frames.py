"""Repairing frame stacks (images, pages, volumes): the method runs on each frame, or on each stack
for volume methods (each time point of a 4-D series alone), in [0, 1]; the mask contract then keeps
the result to the mask (core.repair.masks)."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.documents import FrameStack
from core.errors import MethodError
from core.repair.masks import RepairMask, split_params
from core.repair.request import Request
from core.repair.thinning import THIN_PARAMS
from core.runtime.context import Progress, relay


def normalise(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    scale = (hi - lo) or 1.0
    return ((pixels - lo) / scale).astype(np.float32)


def denormalise(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    return (np.clip(pixels, 0.0, 1.0) * ((hi - lo) or 1.0) + lo).astype(np.float32)


def repair_frames(request: Request) -> Generator[Progress, None, FrameStack]:
    document, chosen, ctx, mask = request.document, request.method, request.ctx, request.mask
    card = chosen.card
    mask_params, run_params = split_params(request.params)
    run_params = {k: v for k, v in run_params.items() if k not in THIN_PARAMS}  # done by repair() already
    painted = (
        None if mask is None else RepairMask.from_painted(mask, document.pixels.shape[:3], **mask_params)
    )
    value_range = document.value_range
    source = document.pixels

    if card.operates_on == "volume":
        normed = normalise(source, value_range)
        holes = painted.holes() if painted is not None else None
        if holes is not None and request.frames is not None:  # a mask for every frame, only these filled
            holes[[i for i in range(holes.shape[0]) if i not in set(request.frames)]] = False
        if card.needs_mask and holes is not None and not holes.any():
            raise MethodError("the mask covers nothing on the slices to repair: paint the holes to fill")
        stacks = document.stacks()
        outs = []
        for n, part in enumerate(stacks):  # a 4-D series: one time point at a time
            sub = ctx.sub(n / len(stacks), (n + 1) / len(stacks))
            sub.extras["geometry"] = stack_geometry(document, part)
            if len(stacks) > 1:
                sub.stage = f"time point {n + 1} of {len(stacks)}"
            run = chosen.run(normed[part], None if holes is None else holes[part], sub, **run_params)
            outs.append((yield from _previews_in_units(run, value_range, None, source[part], None)))
        out = np.concatenate(outs)
        result_pixels = denormalise(out, value_range)
        if out.shape == normed.shape:
            # Voxels the method left alone (the slices it did not refill) come back bit-identical,
            # free of the normalise/denormalise rounding.
            result_pixels = np.where(out == normed, source, result_pixels)
    else:
        todo = list(range(source.shape[0])) if request.frames is None else list(request.frames)
        noun = "slice" if document.kind == "volume" else "frame"
        result_frames: dict[int, np.ndarray] = {}
        for n, index in enumerate(todo):
            if painted is not None and not painted.painted(index) and not request.task.resizes:
                continue  # nothing painted on this frame: leave it exactly as it is
            sub = ctx.sub(n / len(todo), (n + 1) / len(todo))
            if len(todo) > 1:  # which one of the run (a single picture's messages stay as they are)
                sub.stage = f"{noun} {n + 1} of {len(todo)}"
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
    if getattr(document, "mode", "") == "RGBA" and result_pixels.shape == source.shape:
        # Transparency is not picture: no repair changes it (walk-through 45: an inpainting's fill of
        # alpha made hidden pixels show, up to 128, and opaque ones let the background through)
        result_pixels[..., 3] = source[..., 3]
    result = document.with_pixels(result_pixels)
    if result_pixels.shape[1:3] != source.shape[1:3]:
        # a resized result: the same extent in more (or fewer) pixels; a print keeps its size, so a
        # 600 dpi scan enlarged twice is 1200 dpi (walk-through 43: the print size had doubled)
        rows, cols = result_pixels.shape[1] / source.shape[1], result_pixels.shape[2] / source.shape[2]
        if hasattr(result, "spacing"):
            s, r, c = result.spacing
            result.spacing = (s, r / rows, c / cols)
        if (result.metadata or {}).get("dpi"):
            x, y = result.metadata["dpi"]
            result.metadata["dpi"] = (float(x) * cols, float(y) * rows)
    return result


def stack_geometry(document, part: slice) -> dict:
    """What a volume method knows of the stack's geometry (`ctx.extras["geometry"]`): each slice's
    position along the normal in mm (from the file where it says, else from the slice spacing, so
    uneven spacing is honoured), the pixel size in mm (row, column), the slice thickness where known."""
    count = len(range(*part.indices(document.frames)))
    s, row, col = getattr(document, "spacing", (1.0, 1.0, 1.0))
    positions = list(getattr(document, "positions", []) or [])
    if len(positions) == document.frames:
        z = [float(v) for v in positions[part]]
    else:
        z = [float(k * s) for k in range(count)]
    metadata = getattr(document, "metadata", None) or {}
    thickness = metadata.get("slice_thickness")
    offsets = metadata.get("inplane_offsets_mm") or []
    # In pixels of the slice's own grid; only a tilted series has any (a gantry tilt).
    shifts = [(dy / row, dx / col) for dy, dx in offsets[part]] if len(offsets) == document.frames else []
    return {
        "positions": z,
        "pixel": (float(row), float(col)),
        "thickness": float(thickness or s),
        # the profile the rebuilt slices should have: thinner than the acquired ones when thinning
        "made_thickness": metadata.get("made_slice_thickness"),
        "shifts": shifts if any(abs(v) > 0.05 for pair in shifts for v in pair) else [],
    }


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
