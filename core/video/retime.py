"""Retime a clip to another frame rate with the same in-between frames as `fill-frames`.

Output frames fall on a regular grid of the new rate from the first frame's time to the last one's.
A grid time that meets a source frame (within half a tick) shows that frame; one between two frames of
the same shot is interpolated at its fractional time; one between two shots shows the nearer frame of
its own side of the cut. The clip is read in order, two frames at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from fractions import Fraction

import numpy as np

from core.errors import MethodError
from core.runtime.context import Progress, RunContext
from core.video.damage import cut_frames, scan_steps
from core.video.document import Slot, VideoDoc
from core.video.interpolate import Interpolator


def grid(doc: VideoDoc, rate: Fraction) -> list[int]:
    """The pts (source time base) of every output frame at `rate` frames per second."""
    tb = doc.info.time_base
    first, last = doc.slots[0].pts, doc.slots[-1].pts
    step = 1 / (rate * tb)  # pts per output frame, exactly
    count = int((last - first) / step) + 1
    return [first + round(k * step) for k in range(count)]


def retime(
    doc: VideoDoc, rate: float, interpolate: Interpolator, ctx: RunContext
) -> Generator[Progress, None, VideoDoc]:
    if not 1 <= rate <= 240:
        raise MethodError(f"a frame rate between 1 and 240 frames per second, not {rate}")
    new_rate = Fraction(rate).limit_denominator(1001)
    times = grid(doc, new_rate)
    cuts = set(cut_frames((yield from scan_steps(doc, ctx, (0.0, 0.1)))))
    half_tick = 0.5 / float(new_rate * doc.info.time_base)
    slots: list[Slot] = []
    rebuilt: dict[int, np.ndarray] = {}
    previous: tuple[int, np.ndarray | None] | None = None
    at = 0
    for index, frame in doc.frames():
        pts = doc.slots[index].pts
        while at < len(times) and times[at] <= pts + half_tick:
            target = times[at]
            if target == pts:
                slots.append(Slot(pts, index))  # a source frame kept as it is
                at += 1
                continue
            if abs(target - pts) <= half_tick or previous is None:
                slots.append(Slot(target, None, "retime"))
                rebuilt[target] = frame
            else:
                before_index, before = previous
                start = doc.slots[before_index].pts
                if index in cuts or before is None or frame is None:
                    nearer = before if target - start < pts - target or frame is None else frame
                    rebuilt[target] = nearer
                else:
                    rebuilt[target] = interpolate(before, frame, [(target - start) / (pts - start)])[0]
                slots.append(Slot(target, None, "retime"))
            at += 1
        previous = (index, frame)
        yield ctx.progress(0.1 + 0.9 * (index + 1) / doc.frame_count, f"frame {index + 1}/{doc.frame_count}")
    missing = [t for t in rebuilt if rebuilt[t] is None]
    if missing:
        raise MethodError(f"{len(missing)} frames cannot be decoded; rebuild them with fill-frames first")
    result = doc.with_timeline(slots, rebuilt)
    result.info = dataclasses.replace(doc.info, rate=new_rate)
    return result
