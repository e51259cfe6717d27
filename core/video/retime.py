"""Retime a clip to another frame rate with the same in-between frames as `fill-frames`.

Output frames fall on a regular grid of the new rate over the clip's duration (from the first frame's
time to the end of the last one's: its audio lasts as long), the last frame shown again after its time.
A grid time that meets a source frame (within half a tick) shows that frame; one between two frames of
the same shot is interpolated at its fractional time; one between two shots shows the nearer frame of
its own side of the cut. The repair only plans (see core.video.document): the new frames are made
while the result is written, the clip read in order holding two frames at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass
from fractions import Fraction

from core.errors import MethodError
from core.runtime.context import Progress, RunContext
from core.video.damage import cut_frames, scan_steps
from core.video.document import Pending, Slot, VideoDoc
from core.video.interpolate import Interpolator


@dataclass(frozen=True)
class Target:
    """One output frame that is not a source frame kept as it is."""

    pts: int
    at: int  # the slot it is made when reaching: the frame it shows, or the later of the two around it
    uses: tuple[int, ...]  # the slots it is made of: one shown as it is, or two interpolated between
    fraction: float = 0.0  # where it lies between the two


def grid(doc: VideoDoc, rate: Fraction) -> list[int]:
    """The pts (source time base) of every output frame at `rate` frames per second, over the clip's
    whole duration: the last source frame is shown for one frame time too, so 250 frames at 25 fps
    become 500 at 50 (the grid used to stop at the last frame's start: 499, 9.98 s)."""
    tb = doc.info.time_base
    first, last = doc.slots[0].pts, doc.slots[-1].pts
    step = 1 / (rate * tb)  # pts per output frame, exactly
    if doc.info.rate:  # the clip lasts until its last frame's time is over: duration × the new rate
        count = max(1, round((last - first + 1 / (Fraction(doc.info.rate) * tb)) / step))
    else:
        count = int((last - first) / step) + 1
    return [first + round(k * step) for k in range(count)]


def plan(
    doc: VideoDoc, times: list[int], half_tick: float, cuts: set[int], bad: set[int]
) -> tuple[list[Slot], list[Target]]:
    """The new timeline and the frames to make for it; `bad`: slots that cannot be decoded."""
    slots: list[Slot] = []
    targets: list[Target] = []
    at = 0
    for index, slot in enumerate(doc.slots):
        while at < len(times) and times[at] <= slot.pts + half_tick:
            target = times[at]
            at += 1
            if target == slot.pts:
                slots.append(slot)  # a source frame kept as it is
                continue
            slots.append(Slot(target, None, "retime"))
            if abs(target - slot.pts) <= half_tick or index == 0:
                targets.append(Target(target, index, (index,)))
                continue
            start = doc.slots[index - 1].pts
            if index in cuts or index - 1 in bad or index in bad:
                # A tie holds the outgoing shot: the cut stays at its own time (it came an output
                # frame early, 25 -> 50 fps, and the new shot's first frame showed twice).
                earlier = target - start <= slot.pts - target
                nearer = index - 1 if index - 1 not in bad and (earlier or index in bad) else index
                targets.append(Target(target, index, (nearer,)))
            else:
                targets.append(
                    Target(target, index, (index - 1, index), (target - start) / (slot.pts - start))
                )
    last = max((i for i in range(len(doc.slots)) if i not in bad), default=len(doc.slots) - 1)
    for target in times[at:]:  # within the last frame's own time: it (or the last one decoded) again
        slots.append(Slot(target, None, "retime"))
        targets.append(Target(target, last, (last,)))
    return slots, targets


def retime(
    doc: VideoDoc, rate: float, interpolate: Interpolator, ctx: RunContext, by_default: bool = False
) -> Generator[Progress, None, VideoDoc]:
    """`doc` at `rate` frames per second; `by_default`: the rate is the method's default, not asked for."""
    if not 1 <= rate <= 240:
        raise MethodError(f"a frame rate between 1 and 240 frames per second, not {rate}")
    new_rate = Fraction(rate).limit_denominator(1001)
    damage = yield from scan_steps(doc, ctx, (0.0, 0.1))
    bad = {i for d in damage if d.kind == "undecodable" for i in range(d.frame, d.frame + d.count)}
    half_tick = 0.5 / float(new_rate * doc.info.time_base)
    slots, targets = plan(doc, grid(doc, new_rate), half_tick, set(cut_frames(damage)), bad)
    default = " (the default rate; the fps parameter sets another)" if by_default else ""
    ctx.note(  # the rate is a parameter with a default: say which one was used (a walk-through)
        f"retimed from {float(doc.info.rate):.4g} to {float(new_rate):.4g} fps{default}:"
        f" {len(doc.slots)} frames become {len(slots)}"
    )
    missing = [t for t in targets if bad.intersection(t.uses)]
    if missing:
        raise MethodError(f"{len(missing)} frames cannot be decoded; rebuild them with fill-frames first")

    def make(wanted: frozenset[int]):
        chosen = [t for t in targets if t.pts in wanted]
        by_slot: dict[int, list[Target]] = {}
        for target in chosen:
            by_slot.setdefault(target.at, []).append(target)
        first = min((min(t.uses) for t in chosen), default=0)
        last = max((t.at for t in chosen), default=-1)
        held, done = {}, 0
        for index, frame in doc.frames(first, last + 1) if chosen else ():
            held = {index - 1: held.get(index - 1), index: frame}
            for target in by_slot.get(index, []):
                used = [held[i] for i in target.uses]
                if any(u is None for u in used):
                    raise MethodError(f"frame {index} cannot be decoded; rebuild it with fill-frames first")
                done += 1
                yield ctx.progress(0.1 + 0.9 * done / len(chosen), f"frame {done}/{len(chosen)}")
                yield target.pts, used[0] if len(used) == 1 else interpolate(*used, [target.fraction])[0]

    if targets:
        result = doc.with_pending(slots, Pending(frozenset(t.pts for t in targets), make))
    else:
        result = doc.with_timeline(slots, {})  # every output time meets a source frame
    result.info = dataclasses.replace(doc.info, rate=new_rate)
    return result
