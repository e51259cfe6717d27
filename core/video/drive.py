"""How `repair()` runs a method on a video: fill-frames on the timeline, image methods frame by frame.

Image methods (denoise, dejpeg, upscale, inpaint, ...) run over a frame range one frame at a time,
decoded in order, with progress per frame; each result goes to the document's frame store, so memory
holds one frame and the store's budget, never the clip. A mask (H, W) applies to every frame of the
range; pixels outside it are kept exactly as decoded.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from core.errors import MethodError
from core.masks import dilate
from core.runtime.context import Progress, RunContext
from core.video.document import Slot, VideoDoc


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
    if card.operates_on != "image":
        raise MethodError(f"method {card.id!r} works on {card.operates_on}, not on video frames")
    todo = sorted(set(range(doc.frame_count) if frames is None else frames))
    if resizes and len(todo) != doc.frame_count:
        raise MethodError(f"{card.task} changes the frame size, so it must run on every frame of the clip")
    if card.needs_mask and mask is None:
        raise MethodError(f"method {card.id!r} needs a mask: paint what should be repaired")
    keep_outside = None
    if mask is not None:
        mask = np.asarray(mask) != 0
        if mask.shape != (doc.info.height, doc.info.width):
            raise MethodError(
                f"the mask is {mask.shape[::-1]} pixels, the video {doc.info.width}×{doc.info.height}"
            )
        grow = int(params.get("dilate", 0) or 0)
        keep_outside = ~(dilate(mask, grow) if grow > 0 else mask)
    wanted = set(todo)
    slots = list(doc.slots)
    rebuilt: dict[int, np.ndarray] = {}
    done = 0
    for index, frame in doc.frames(todo[0], todo[-1] + 1) if todo else ():
        if index not in wanted:
            continue
        if frame is None:
            raise MethodError(f"frame {index} cannot be decoded; rebuild it with fill-frames first")
        sub = ctx.sub(done / len(todo), (done + 1) / len(todo))
        out = yield from method.run(frame.astype(np.float32) / 255.0, mask, sub, **params)
        result = np.clip(np.rint(np.asarray(out) * 255.0), 0, 255).astype(np.uint8)
        if result.shape[-1] == 1:
            result = np.repeat(result, 3, axis=-1)
        if keep_outside is not None and result.shape == frame.shape:
            result = np.where(keep_outside[..., None], frame, result)
        slot = slots[index]
        slots[index] = Slot(slot.pts, None, card.task)
        rebuilt[slot.pts] = result
        done += 1
        yield ctx.progress(done / len(todo), f"frame {done}/{len(todo)}")
    return doc.with_timeline(slots, rebuilt)
