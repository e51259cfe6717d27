"""The crop-and-paste loop shared by every method that fills a mask.

A method works only on boxes around the connected regions of the hole (`core.masks.regions`, with
some context around each), so a large photo with a few small marks costs as much as a few small
crops. For each box it calls the method's `fill(crop, crop_hole, ctx)`, which returns the filled
crop, or is a generator yielding progress (previews of the crop included) and returning it. The fill
is pasted inside the hole only; blending into the surroundings (dilate, feather, soft edges) is the
mask contract's job (`core.repair.masks`), not the method's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from core.masks import regions
from core.runtime.context import Progress, RunContext, relay

Fill = Callable[[np.ndarray, np.ndarray, RunContext], Any]


def fill_regions(
    image: np.ndarray,
    hole: np.ndarray,
    ctx: RunContext,
    fill: Fill,
    context: float = 2.0,
    min_size: int = 256,
    margin: int = 16,
) -> Generator[Progress, None, np.ndarray]:
    """`image` (H, W, C) in [0, 1] with every box's `hole` (bool (H, W)) filled by `fill`."""
    boxes = regions(hole, context=context, min_size=min_size, margin=margin)
    out = image.copy()
    for n, box in enumerate(boxes):
        top, bottom, left, right = box
        crop_hole = hole[top:bottom, left:right]
        sub = ctx.sub(n / len(boxes), (n + 1) / len(boxes))
        filled = fill(image[top:bottom, left:right], crop_hole, sub)
        if inspect.isgenerator(filled):
            filled = yield from _placed(filled, out, box, crop_hole)
        else:
            yield sub.progress(1.0, f"filled region {n + 1} of {len(boxes)}")
        region = out[top:bottom, left:right]
        region[crop_hole] = np.clip(filled, 0.0, 1.0)[crop_hole]
    return out


def _placed(gen, canvas: np.ndarray, box, crop_hole: np.ndarray):
    """Relay a crop's progress, its previews placed into the whole image filled so far."""
    top, bottom, left, right = box

    def place(report: Progress) -> Progress:
        if report.preview is not None:
            whole = canvas.copy()
            whole[top:bottom, left:right][crop_hole] = np.clip(report.preview, 0.0, 1.0)[crop_hole]
            report.preview = whole
        return report

    return relay(gen, place)
