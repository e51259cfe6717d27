"""Old film: dust and scratches that appear in one frame only, and flicker (brightness that pumps).

Dust: each frame is compared with its two neighbours, each warped onto it with dense optical flow.
A speck is where the frame differs strongly from both warped neighbours while they agree with each
other; only small blobs count (a moving object that the flow missed is large), and they are filled
with the neighbours' mean. Flicker: the mean and spread of each frame's brightness are measured in a
first pass (two numbers a frame), smoothed over time, and each frame is mapped onto the smoothed values.

Both only plan (like every video repair, see core.video.document): the cleaned frames are computed
while the result is written, in timeline order, holding three decoded frames at most. A frame in
which no dust is found stays the source frame, untouched. The flicker's
measuring pass runs when the repair is asked for, since every frame's mapping depends on the
brightness of frames up to twice the radius ahead.
"""

from __future__ import annotations

from collections.abc import Generator

import cv2
import numpy as np

from core.errors import MethodError
from core.runtime.context import Progress, RunContext
from core.video.document import Pending, Slot, VideoDoc
from core.video.interpolate import backward_warp, dense_flow


def levels_matched(frame: np.ndarray, to: np.ndarray) -> np.ndarray:
    """`frame` (uint8 RGB) with its brightness's mean and spread mapped onto those of `to`: a
    flickering film's neighbours differ from a frame by more than its dust does."""
    (mean, spread), (to_mean, to_spread) = luma_levels(frame), luma_levels(to)
    mapped = (frame.astype(np.float32) - mean) * (to_spread / max(spread, 1e-3)) + to_mean
    return np.clip(np.rint(mapped), 0, 255).astype(np.uint8)


def speck_mask(
    frame: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    threshold: float,
    max_area: int,
    match_levels: bool = True,
):
    """Pixels of `frame` present in neither warped neighbour: (mask, the neighbours' mean). The
    neighbours are first brought to the frame's brightness (`match_levels`): on a flickering reel the
    whole picture differs from them, and the flow and the fill went wrong with it (a walk-through saw
    31 of 48 specks stay and dark blotches appear)."""
    if match_levels:
        before, after = levels_matched(before, frame), levels_matched(after, frame)
    prev = backward_warp(before.astype(np.float32), dense_flow(frame, before))
    nxt = backward_warp(after.astype(np.float32), dense_flow(frame, after))
    cur = frame.astype(np.float32)
    grey = lambda x: x.mean(axis=-1)  # noqa: E731
    off_prev = np.abs(grey(cur) - grey(prev))
    off_next = np.abs(grey(cur) - grey(nxt))
    agree = np.abs(grey(prev) - grey(nxt))
    candidate = (off_prev > threshold) & (off_next > threshold) & (agree < threshold / 2)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] <= max_area
    mask = small[labels]
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return mask, (prev + nxt) / 2


def without_specks(
    frame: np.ndarray, before: np.ndarray | None, after: np.ndarray | None, threshold: float, max_area: int
) -> np.ndarray | None:
    """`frame` with its specks filled from the neighbours; None when there is nothing to remove (no
    speck, or a neighbour that cannot be decoded)."""
    if before is None or after is None:
        return None
    mask, fill = speck_mask(frame, before, after, threshold, max_area)
    if not mask.any():
        return None
    return np.where(mask[..., None], np.clip(np.rint(fill), 0, 255).astype(np.uint8), frame)


def remove_dust(
    doc: VideoDoc, frames: list[int] | None, ctx: RunContext, threshold: float = 30.0, max_area: int = 400
) -> Generator[Progress, None, VideoDoc]:
    """Only frames with dust change: the others keep their source frame (written untouched, at their
    own bit depth), which is known only once each frame is compared with its neighbours."""
    # the first and last frame have one neighbour only, so nothing there can be told from motion
    todo = _in_clip(doc, frames, 1, doc.frame_count - 1)
    ends = [i for i in (0, doc.frame_count - 1) if i in _in_clip(doc, frames, 0, doc.frame_count)]
    if ends:  # said, not left for a person to find (a walk-through saw dust stay on them)
        named = list(dict.fromkeys(ends))
        which = " and ".join(f"frame {i}" for i in named)
        which += " as it is" if len(named) == 1 else " as they are"
        ctx.note(f"remove-dust left {which}: a speck is told by a neighbour on each side")
    as_decoded = {i for i in todo if doc.as_decoded(i)}
    slots = list(doc.slots)
    for index in todo:
        slot = slots[index]
        kept = index in as_decoded
        slots[index] = Slot(slot.pts, slot.source, "remove-dust") if kept else slot.repaired("remove-dust")

    def clean(wanted: frozenset[int]):
        chosen = [i for i in todo if slots[i].pts in wanted]
        window: list[tuple[int, np.ndarray | None]] = []
        left, done = set(chosen), 0
        for item in doc.frames(chosen[0] - 1, chosen[-1] + 2) if chosen else ():
            window = [*window[-2:], item]
            if len(window) < 3 or window[1][0] not in left:
                continue
            (_, before), (index, frame), (_, after) = window
            if frame is None:
                raise MethodError(f"frame {index} cannot be decoded; rebuild it with fill-frames first")
            cleaned = without_specks(frame, before, after, threshold, max_area)
            if cleaned is None and index not in as_decoded:
                cleaned = frame  # no source frame to fall back on: the frame as it was shown
            done += 1
            yield ctx.progress(done / len(chosen), f"frame {done}/{len(chosen)}")
            yield slots[index].pts, cleaned

    yield ctx.progress(0.0, f"{len(todo)} frames to clean")
    return _planned(doc, slots, todo, clean)


def luma_levels(frame: np.ndarray) -> tuple[float, float]:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(grey.mean()), float(grey.std())


def smooth(values: np.ndarray, radius: int) -> np.ndarray:
    """A moving median then mean over ±radius frames (edges use what exists)."""
    n = len(values)
    median = np.array([np.median(values[max(0, i - radius) : i + radius + 1]) for i in range(n)])
    return np.array([median[max(0, i - radius) : i + radius + 1].mean() for i in range(n)])


def deflicker(
    doc: VideoDoc, frames: list[int] | None, ctx: RunContext, radius: int = 5
) -> Generator[Progress, None, VideoDoc]:
    asked = _in_clip(doc, frames, 0, doc.frame_count)
    if not asked:
        raise MethodError("no frame of the clip to deflicker")
    first, last = asked[0], asked[-1] + 1
    levels = []
    for n, (_, frame) in enumerate(doc.frames(first, last)):
        levels.append(luma_levels(frame) if frame is not None else (np.nan, np.nan))
        if n % 10 == 0:
            yield ctx.progress(0.5 * n / (last - first), "measuring brightness")
    means, spreads = (np.array(v, np.float64) for v in zip(*levels))
    valid = np.isfinite(means)
    means[~valid], spreads[~valid] = np.nanmean(means), np.nanmean(spreads)
    target_mean, target_spread = smooth(means, radius), smooth(spreads, radius)
    todo = [i for i in asked if valid[i - first]]  # an undecodable frame is left for fill-frames
    slots = _marked(doc, todo, "deflicker")

    def even_out(wanted: frozenset[int]):
        chosen = [i for i in todo if slots[i].pts in wanted]
        left, done = set(chosen), 0
        for index, frame in doc.frames(chosen[0], chosen[-1] + 1) if chosen else ():
            if index not in left:
                continue
            k = index - first
            gain = target_spread[k] / max(spreads[k], 1e-3)
            out = (frame.astype(np.float32) - means[k]) * gain + target_mean[k]
            done += 1
            yield ctx.progress(0.5 + 0.5 * done / len(chosen), f"frame {done}/{len(chosen)}")
            yield slots[index].pts, np.clip(np.rint(out), 0, 255).astype(np.uint8)

    return _planned(doc, slots, todo, even_out)


def _in_clip(doc: VideoDoc, frames: list[int] | None, lo: int, hi: int) -> list[int]:
    """The frames asked for (all when None) from `lo` up to `hi`, sorted."""
    return sorted(i for i in set(range(doc.frame_count) if frames is None else frames) if lo <= i < hi)


def _marked(doc: VideoDoc, todo: list[int], task: str) -> list[Slot]:
    slots = list(doc.slots)
    for index in todo:
        slots[index] = slots[index].repaired(task)
    return slots


def _planned(doc: VideoDoc, slots: list[Slot], todo: list[int], make) -> VideoDoc:
    if not todo:
        return doc.with_timeline(slots, {})
    return doc.with_pending(slots, Pending(frozenset(slots[i].pts for i in todo), make))
