"""`fill-frames`: rebuild dropped, duplicated and damaged frames from the good frames either side.

The plan is made on the timeline: a dropped frame becomes a new slot at its missing time, a duplicate
or damaged frame keeps its slot and time but gets a rebuilt picture, which keeps the parts of the frame
as decoded that agree with it (`core.video.agree`). Each run of rebuilt slots (up to
`max_run` long) is made from the good frame before and after it, at fractional times taken from the
timestamps; the good frames just outside those two (same shot, undamaged) are handed on too, for a
method that follows curved motion. A run that spans a scene cut is never interpolated: its frames
before the cut repeat the last frame of the old shot and those after it the first frame of the new one
(frames lost where the cut is, whose side nothing tells, show the shot nearer in time).

The repair plans; the frames are made when the result is written (or computed): decoded in order,
only in the stretches around the damage, holding only the anchors of the runs being built.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from core.errors import NothingToDoError
from core.runtime.context import Progress, RunContext
from core.video.agree import keep_agreeing
from core.video.damage import SHOWN_PLACES, Damage, cut_frames, scan_steps, summary
from core.video.document import Pending, Slot, VideoDoc
from core.video.interpolate import Interpolator, Outer

FIXES = {
    "all": ("dropped", "duplicate", "undecodable", "corrupt", "blocky"),
    "dropped": ("dropped",),
    "duplicates": ("duplicate",),
    "damaged": ("undecodable", "corrupt", "blocky"),
}


@dataclass
class Run:
    """Consecutive slots of the new timeline to rebuild, between two good source frames."""

    before: int | None  # old slot index of the good frame before (None: the clip starts here)
    after: int | None  # old slot index of the good frame after (None: the clip ends here)
    slots: list[Slot] = field(default_factory=list)  # the new slots, in time order
    cut_pts: int | None = None  # the cut's time when the run spans one
    outer_before: int | None = None  # old slot index of the good frame just before `before`, if any
    outer_after: int | None = None  # and just after `after`
    replacing: dict[int, int] = field(default_factory=dict)  # new pts -> old slot index it rebuilds in place

    def anchors(self) -> list[int]:
        """Old slot indices of the frames this run is made from, in order: those it is interpolated
        between and those it rebuilds in place, whose agreeing parts it keeps."""
        inside = sorted(self.replacing.values())
        sides = (self.outer_before, self.before, *inside, self.after, self.outer_after)
        return [i for i in sides if i is not None]


@dataclass
class Plan:
    slots: list[Slot]
    runs: list[Run]
    skipped: list[str]


def make_plan(
    doc: VideoDoc,
    damage: list[Damage],
    kinds: tuple[str, ...],
    max_run: int,
    targets: list[int] | None = None,
    within: set[int] | None = None,
) -> Plan:
    """The new timeline and the runs to rebuild. `targets`: these slots instead of what damage lists;
    `within`: only the damage that lies in these slots."""
    replace = set(targets) if targets is not None else set()
    if targets is None:
        for d in damage:
            if d.kind in kinds and d.kind != "dropped" and (within is None or _within(d, within)):
                replace.update(range(d.frame, d.frame + d.count))
    if targets is not None:
        replace = {i for i in replace if 0 <= i < doc.frame_count}
    scope = replace if targets is not None else within
    missing = {
        d.frame: d.count
        for d in damage
        if d.kind == "dropped" and "dropped" in kinds and (scope is None or _within(d, scope))
    }
    cuts = set(cut_frames(damage))
    doubtful = replace | damaged_frames(damage)
    new_slots: list[Slot] = []
    marks: list[tuple[int | None, bool]] = []  # per new slot: old index (None if inserted), rebuilt?
    for index, slot in enumerate(doc.slots):
        if index in replace:
            new_slots.append(slot.repaired("rebuilt"))  # in place: it stands for the frame it replaces
            marks.append((index, True))
        else:
            new_slots.append(slot)
            marks.append((index, False))
        count = missing.get(index, 0)
        if count and index + 1 < doc.frame_count:
            start, stop = slot.pts, doc.slots[index + 1].pts
            for k in range(1, count + 1):
                new_slots.append(Slot(start + round(k * (stop - start) / (count + 1)), None, "inserted"))
                marks.append((None, True))
    runs, skipped, keep = [], [], []
    n = 0
    while n < len(new_slots):
        if not marks[n][1]:
            keep.append(new_slots[n])
            n += 1
            continue
        end = n
        while end < len(new_slots) and marks[end][1]:
            end += 1
        before = marks[n - 1][0] if n > 0 else None
        after = marks[end][0] if end < len(new_slots) else None
        if end - n > max_run:
            skipped.append(
                f"{end - n} frames in a row from {doc.info.time(new_slots[n].pts):.3f} s: longer than"
                f" max_run={max_run}, left as they were"
            )
            keep.extend(doc.slots[i] for i, _ in marks[n:end] if i is not None)
            n = end
            continue
        in_place = {new_slots[k].pts: marks[k][0] for k in range(n, end) if marks[k][0] is not None}
        run = Run(before, after, new_slots[n:end], replacing=in_place)
        lo = (before + 1) if before is not None else 0
        hi = after if after is not None else doc.frame_count - 1
        spanned = [c for c in cuts if lo <= c <= hi]
        if spanned:
            cut = min(spanned)
            unplaced = cut == after and before is not None  # seen only at the good frame after the run
            run.cut_pts = _unplaced_cut(doc, run) if unplaced else doc.slots[cut].pts
        elif before is not None and after is not None:  # interpolated: the frames just outside help
            run.outer_before = beside(before, -1, doc.frame_count, doubtful, cuts)
            run.outer_after = beside(after, 1, doc.frame_count, doubtful, cuts)
        runs.append(run)
        keep.extend(new_slots[n:end])
        n = end
    return Plan(keep, runs, skipped)


def _within(found: Damage, frames: set[int]) -> bool:
    """Damage lies in a range of frames when one of its frames does; a loss, when the frame before or
    after it does (walk-through 41: a range from 0 to 100 put back a loss after frame 148)."""
    if found.kind == "dropped":
        return found.frame in frames or found.frame + 1 in frames
    return any(f in frames for f in range(found.frame, found.frame + found.count))


def smear_left(doc: VideoDoc, damage: list[Damage], kinds: tuple[str, ...], max_run: int) -> list[str]:
    """What rebuilding a damaged packet's frames leaves: the frames after them predict from them until
    the next keyframe and may still carry the damage (walk-through 42), one line per keyframe reached.
    Said by time: the app counts frames from 1, and putting lost frames back renumbers them."""
    reaching: dict[int, list[Damage]] = {}
    for d in damage:
        if d.carried_to is not None and d.kind in kinds:
            reaching.setdefault(d.carried_to, []).append(d)
    return [
        f"the frames from {doc.time(max(d.frame + d.count for d in found)):.3f} s to {doc.time(last):.3f} s"
        f" may still carry the damage of the frame at {doc.time(min(d.frame for d in found)):.3f} s: they"
        f" predict from it until the next keyframe, and fill-frames rebuilds at most {max_run} in a row"
        for last, found in sorted(reaching.items())
    ]


def put_back(doc: VideoDoc, plan: Plan, damage: list[Damage]) -> list[Damage]:
    """The losses the plan puts frames back into (not those in a run too long to rebuild)."""
    inserted = sorted(s.pts for s in plan.slots if s.note == "inserted")
    found = []
    for d in damage:
        if d.kind == "dropped" and d.frame + 1 < doc.frame_count:
            start, stop = doc.slots[d.frame].pts, doc.slots[d.frame + 1].pts
            if bisect.bisect_right(inserted, start) < bisect.bisect_left(inserted, stop):
                found.append(d)
    return found


def _moved_later(doc: VideoDoc, lost: list[Damage], moves: dict[int, int]) -> str:
    """What making room did to the clip's timing, for the result's record and every front end."""
    places = [f"{doc.time(d.frame + 1):.3f} s" for d in lost]
    shown = ", ".join(places[:SHOWN_PLACES]) + (", …" if len(places) > SHOWN_PLACES else "")
    longer = doc.info.time(moves[max(moves)] - max(moves))
    return (
        f"{sum(d.count for d in lost)} frame(s) lost without a gap in the timestamps (told by the jump in"
        f" the motion) put back: the frames from {shown} on play later, the clip {longer:.3f} s longer"
    )


def frame_time(doc: VideoDoc) -> float:
    """One frame's time in pts units, exactly (the nominal step is a whole number of ticks)."""
    info = doc.info
    return float(1 / (Fraction(info.rate) * info.time_base)) if info.rate else info.nominal_step


def without_room(doc: VideoDoc, lost: list[Damage]) -> list[Damage]:
    """The losses the timestamps leave no room for (a constant-rate encode closed the gap)."""
    step = frame_time(doc)
    return [d for d in lost if doc.slots[d.frame + 1].pts - doc.slots[d.frame].pts < (d.count + 0.5) * step]


def room_for_lost_frames(doc: VideoDoc, lost: list[Damage]) -> dict[int, int]:
    """Old pts -> new pts of the frames after each of these losses: they move later by the frames
    lost, so the motion keeps its pace and the picture its place against the audio, which ran on
    while the frames were lost."""
    step = frame_time(doc)
    room = {
        d.frame + 1: round((d.count + 1) * step - (doc.slots[d.frame + 1].pts - doc.slots[d.frame].pts))
        for d in lost
    }
    moves, delay = {}, 0
    for index, slot in enumerate(doc.slots):
        delay += room.get(index, 0)
        if delay:
            moves[slot.pts] = slot.pts + delay
    return moves


def _unplaced_cut(doc: VideoDoc, run: Run) -> int:
    """Where to split a run whose cut the scan sees only at the good frame after it: lost frames may
    have been on either side, so each inserted one shows the shot nearer in time (right more often than
    giving all to one shot); frames kept from the source stay with the old shot, as the scan says."""
    middle = (doc.slots[run.before].pts + doc.slots[run.after].pts) // 2 + 1  # a tie stays in the old
    return max([middle, *(s.pts + 1 for s in run.slots if s.note != "inserted")])


def damaged_frames(damage: list[Damage]) -> set[int]:
    """Frames the scan doubts (duplicates, damaged): never used to follow the motion."""
    return {i for d in damage if d.kind not in ("dropped", "cut") for i in range(d.frame, d.frame + d.count)}


def beside(anchor: int, step: int, count: int, doubtful: set[int], cuts: set[int]) -> int | None:
    """The frame next to an anchor on the side away from the run (step -1 or 1), if it exists, is not
    doubtful and belongs to the anchor's shot (a cut frame starts a shot)."""
    index = anchor + step
    if not 0 <= index < count or index in doubtful or max(anchor, index) in cuts:
        return None
    return index


def fill_frames(
    doc: VideoDoc,
    interpolate: Interpolator,
    ctx: RunContext,
    fix: str = "all",
    max_run: int = 3,
    targets: list[int] | None = None,
    damage: list[Damage] | None = None,
) -> Generator[Progress, None, VideoDoc]:
    """Rebuild what `fix` names (or the slots in `targets`) with `interpolate`; returns a new document."""
    if damage is None:
        damage = yield from scan_steps(doc, ctx, (0.0, 0.5))
    scope = None
    if targets is not None and any(d.kind in FIXES[fix] and _within(d, set(targets)) for d in damage):
        # a range around damage the scan found repairs that damage (walk-through 42: In/Out around a
        # loss rebuilt every frame in it, or was refused as too long a run); a range where it found
        # nothing rebuilds the range's own frames (a bad frame the scan missed)
        scope, targets = set(targets), None
    plan = make_plan(doc, damage, FIXES[fix], max_run, targets, scope)
    roomless = without_room(doc, put_back(doc, plan, damage))
    if roomless:  # room made where the timestamps left none, and planned again on the moved timeline
        moves = room_for_lost_frames(doc, roomless)
        ctx.warn(_moved_later(doc, roomless, moves))
        doc = doc.shifted(moves)
        plan = make_plan(doc, damage, FIXES[fix], max_run, targets, scope)
    total = doc.frame_count
    if targets is None:
        repaired = [d for d in damage if scope is None or _within(d, scope)]
        for said in smear_left(doc, repaired, FIXES[fix], max_run):
            ctx.warn(said)
    if not plan.runs:  # a clip written again, re-encoded and called a reconstruction, would gain nothing
        why = "; ".join(plan.skipped) or (f"the scan found {summary(damage)}" if damage else summary(damage))
        chosen = "" if fix == "all" else f" with fix={fix}"
        raise NothingToDoError(f"nothing to rebuild{chosen}: {why}")

    def rebuild(wanted: frozenset[int]):
        """Decode the stretches that hold anchors, holding only the anchors of the runs not yet built."""
        runs = [r for r in plan.runs if any(s.pts in wanted for s in r.slots)]
        needed = {i for r in runs for i in r.anchors()}
        by_last: dict[int | None, list[Run]] = {}  # a run is built once its last frame is decoded
        until: dict[int, int] = {}  # frame -> the last frame decoded while a run still needs it
        for run in runs:
            last = run.anchors()[-1] if run.after is not None else None
            by_last.setdefault(last, []).append(run)
            for i in run.anchors():
                until[i] = max(until.get(i, -1), total if last is None else last)
        held: dict[int, np.ndarray] = {}
        done = 0
        for first, last in stretches(doc, sorted(needed)):
            for index, frame in doc.frames(first, last + 1):
                if index in needed and frame is not None:
                    held[index] = frame
                for run in by_last.get(index, []):
                    frames = _rebuild(doc, run, held, interpolate)
                    done += 1
                    yield ctx.progress(0.5 + 0.5 * done / len(runs), f"rebuilt {done}/{len(runs)}")
                    yield from ((pts, f) for pts, f in frames.items() if pts in wanted)
                for old in [k for k in held if k != index and until.get(k, -1) <= index]:
                    del held[old]
        for run in by_last.get(None, []):
            yield from ((pts, f) for pts, f in _rebuild(doc, run, held, interpolate).items() if pts in wanted)

    rebuilt = frozenset(s.pts for run in plan.runs for s in run.slots)
    result = doc.with_pending(plan.slots, Pending(rebuilt, rebuild))
    result.metadata["fill_notes"] = plan.skipped
    result.metadata["damage"] = [d.as_dict() for d in damage]
    yield ctx.progress(0.5, f"{len(rebuilt)} frames to rebuild")
    return result


def stretches(doc: VideoDoc, anchors: list[int]) -> list[tuple[int, int]]:
    """Sorted anchor slots grouped into (first, last) stretches, each decoded in one go. A new stretch
    starts where a keyframe lies between two anchors: seeking to it decodes no more than reading on,
    so a long clip with a few damaged frames is decoded only around them."""
    keys = doc.info.keyframes
    out: list[tuple[int, int]] = []
    for index in anchors:
        if out:
            a, b = doc.slots[out[-1][1]], doc.slots[index]
            seek = a.source is not None and b.source is not None
            if not (seek and bisect.bisect_right(keys, b.pts) > bisect.bisect_right(keys, a.pts)):
                out[-1] = (out[-1][0], index)
                continue
        out.append((index, index))
    return out


def _rebuild(
    doc: VideoDoc, run: Run, held: dict[int, np.ndarray], interpolate: Interpolator
) -> dict[int, np.ndarray]:
    a = held.get(run.before) if run.before is not None else None
    b = held.get(run.after) if run.after is not None else None
    if a is None and b is None:
        return {}
    if a is None or b is None or run.cut_pts is not None:
        made = {s.pts: _repeat_side(s, a, b, run.cut_pts) for s in run.slots}
    else:
        t0, t1 = doc.slots[run.before].pts, doc.slots[run.after].pts
        ts = [(s.pts - t0) / (t1 - t0) for s in run.slots]
        outer = outer_frames(
            held, run.outer_before, run.outer_after, lambda i: (doc.slots[i].pts - t0) / (t1 - t0)
        )
        made = {s.pts: frame for s, frame in zip(run.slots, interpolate(a, b, ts, outer))}
    for pts, index in run.replacing.items():
        if held.get(index) is not None:  # an undecodable frame has nothing to keep
            made[pts] = keep_agreeing(held[index], made[pts])
    return made


def outer_frames(
    frames: dict[int, np.ndarray], before: int | None, after: int | None, time: Callable[[int], float]
) -> Outer:
    """The frames just outside (by old slot index, None where there is none) with their times on the
    anchors' scale (`time`: old slot index -> 0 at the frame before the run, 1 at the frame after)."""
    return Outer(
        frames.get(before) if before is not None else None,
        time(before) if before is not None else -1.0,
        frames.get(after) if after is not None else None,
        time(after) if after is not None else 2.0,
    )


def _repeat_side(slot: Slot, a: np.ndarray | None, b: np.ndarray | None, cut_pts: int | None) -> np.ndarray:
    """Never mix two shots: before the cut show the old shot's last frame, from it the new shot's first."""
    if a is None:
        return b.copy()
    if b is None:
        return a.copy()
    return (a if slot.pts < cut_pts else b).copy()
