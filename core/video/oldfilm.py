"""Old film: dust and scratches that appear in one frame only, and flicker (brightness that pumps).

Dust: each frame is compared with its two neighbours, each warped onto it with dense optical flow.
A speck is where the frame differs strongly from both warped neighbours while they agree with each
other; only small blobs count (a moving object that the flow missed is large), and they are filled
with the neighbours' mean. Flicker: the mean and spread of each frame's brightness are measured in a
first pass, smoothed over time, and each frame is mapped onto the smoothed values in a second pass.
Both read the clip in order, holding three frames at most.
"""

from __future__ import annotations

from collections.abc import Generator

import cv2
import numpy as np

from core.runtime.context import Progress, RunContext
from core.video.document import Slot, VideoDoc
from core.video.interpolate import backward_warp, dense_flow


def speck_mask(frame: np.ndarray, before: np.ndarray, after: np.ndarray, threshold: float, max_area: int):
    """Pixels of `frame` present in neither warped neighbour: (mask, the neighbours' mean)."""
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


def remove_dust(
    doc: VideoDoc, frames: list[int] | None, ctx: RunContext, threshold: float = 30.0, max_area: int = 400
) -> Generator[Progress, None, VideoDoc]:
    todo = set(range(doc.frame_count) if frames is None else frames)
    slots, rebuilt = list(doc.slots), {}
    window: list[tuple[int, np.ndarray | None]] = []
    first, last = max(min(todo) - 1, 0), min(max(todo) + 2, doc.frame_count)
    done = 0
    for item in doc.frames(first, last):
        window = [*window[-2:], item]
        if len(window) < 3:
            continue
        (_, before), (index, frame), (_, after) = window
        if index not in todo or frame is None or before is None or after is None:
            continue
        mask, fill = speck_mask(frame, before, after, threshold, max_area)
        if mask.any():
            cleaned = np.where(mask[..., None], np.clip(np.rint(fill), 0, 255).astype(np.uint8), frame)
            slots[index] = Slot(doc.slots[index].pts, None, "remove-dust")
            rebuilt[doc.slots[index].pts] = cleaned
        done += 1
        yield ctx.progress(done / len(todo), f"frame {done}/{len(todo)}")
    return doc.with_timeline(slots, rebuilt)


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
    todo = sorted(set(range(doc.frame_count) if frames is None else frames))
    first, last = todo[0], todo[-1] + 1
    levels = []
    for n, (_, frame) in enumerate(doc.frames(first, last)):
        levels.append(luma_levels(frame) if frame is not None else (np.nan, np.nan))
        if n % 10 == 0:
            yield ctx.progress(0.5 * n / (last - first), "measuring brightness")
    means, spreads = (np.array(v, np.float64) for v in zip(*levels))
    valid = np.isfinite(means)
    means[~valid], spreads[~valid] = np.nanmean(means), np.nanmean(spreads)
    target_mean, target_spread = smooth(means, radius), smooth(spreads, radius)
    wanted = set(todo)
    slots, rebuilt = list(doc.slots), {}
    for n, (index, frame) in enumerate(doc.frames(first, last)):
        if index not in wanted or frame is None:
            continue
        k = index - first
        gain = target_spread[k] / max(spreads[k], 1e-3)
        out = (frame.astype(np.float32) - means[k]) * gain + target_mean[k]
        slots[index] = Slot(doc.slots[index].pts, None, "deflicker")
        rebuilt[doc.slots[index].pts] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        yield ctx.progress(0.5 + 0.5 * (n + 1) / (last - first), f"frame {n + 1}/{last - first}")
    return doc.with_timeline(slots, rebuilt)
