"""How `repair()` runs a method on a video: fill-frames on the timeline, image methods frame by frame.

Image methods (denoise, dejpeg, upscale, inpaint, ...) run over a frame range one frame at a time,
decoded in order, with progress per frame. The repair only plans: it returns a document whose frames
in the range are pending, computed while the document is written (or `compute()`d), so memory holds
a frame or two, never the clip, and nothing is spilled to disk; one frame can be made alone (a
preview). A mask (H, W) applies to every frame of the range through the mask contract
(core.repair.masks: dilate, feather, soft edges); pixels outside the hole are kept exactly as decoded.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from core.errors import MethodError
from core.repair.masks import RepairMask, split_params
from core.runtime.context import Progress, RunContext
from core.video.document import Pending, VideoDoc


def repair_video(
    doc: VideoDoc,
    method: Any,
    mask: np.ndarray | None,
    ctx: RunContext,
    frames: list[int] | None,
    params: dict[str, Any],
    resizes: bool,
) -> Generator[Progress, None, VideoDoc]:
    card = method.card
    if card.operates_on == "video":
        return (yield from method.run(doc, frames, ctx, **params))
    todo = sorted(set(range(doc.frame_count) if frames is None else frames))
    if resizes and len(todo) != doc.frame_count:
        raise MethodError(f"{card.task} changes the frame size, so it must run on every frame of the clip")
    mask_params, params = split_params(params)
    painted = None
    # One mask for every frame, or one per frame repaired (in order): what `lacuna detect` proposed.
    own = mask is not None and np.ndim(mask) == 3 and len(mask) == len(todo) and len(todo) > 1
    mask_of = {index: k if own else 0 for k, index in enumerate(todo)}  # which of the masks a frame takes
    if mask is not None:
        count = len(todo) if own else 1
        painted = RepairMask.from_painted(mask, (count, doc.info.height, doc.info.width), **mask_params)
        if not resizes:
            # a frame with nothing marked is left as decoded, and not recorded as repaired (walk-through
            # 53: `--detect --frames 3-8` recorded six frames changed, three of them untouched)
            todo = [index for index in todo if painted.painted(mask_of[index])]
    slots = list(doc.slots)
    for index in todo:
        slots[index] = slots[index].repaired(card.task)

    def rebuild(wanted: frozenset[int]):
        chosen = [i for i in todo if slots[i].pts in wanted]
        left, done = set(chosen), 0
        for index, frame in doc.frames(chosen[0], chosen[-1] + 1) if chosen else ():
            if index not in left:
                continue
            if frame is None:
                raise MethodError(f"frame {index} cannot be decoded; rebuild it with fill-frames first")
            sub = ctx.sub(done / len(chosen), (done + 1) / len(chosen))
            k = mask_of[index]
            hole = painted.hole(k) if painted is not None else None
            out = yield from method.run(frame.astype(np.float32) / 255.0, hole, sub, **params)
            result = np.asarray(out, np.float32) * np.float32(255.0)
            if result.shape[-1] == 1:
                result = np.repeat(result, 3, axis=-1)
            if painted is not None and result.shape == frame.shape:
                result = painted.composite_frame(k, frame.astype(np.float32), result)
            done += 1
            yield ctx.progress(done / len(chosen), f"frame {done}/{len(chosen)}")
            yield slots[index].pts, np.clip(np.rint(result), 0, 255).astype(np.uint8)

    return doc.with_pending(slots, Pending(frozenset(slots[i].pts for i in todo), rebuild))
