"""Find what is wrong in a video: dropped frames, duplicated or frozen frames, frames that failed to
decode or decoded as smears or blocks, and scene cuts (the places interpolation must never cross).

A dropped frame shows as a gap in the timestamps, or, where a constant-rate encode closed the gap, as
a jump in the motion: in a steady pan or walk, the pair around the lost frame moves twice as far as
the pairs either side of it, along the same optical flow. Where the motion is not steady enough to
tell (a jump, a turn, a flicker of fire) nothing is said.

One sequential pass decodes the clip and keeps only a small grey thumbnail of the previous frames and
a few numbers per frame, so memory does not grow with the clip's length. Decisions are relative to the
clip's own local motion (a near-still pair in a moving shot is a duplicate; the same pair in a still
shot is not), so one set of thresholds serves talking heads and action alike.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from core.blocking import blockiness
from core.runtime.context import RunContext, drive

THUMB_WIDTH = 160
LOCAL = 8  # frames either side that define "local motion"
DUP_RATIO = 0.3  # a pair this still relative to local motion is a duplicate ...
DUP_ABS = 2.0  # ... provided it differs by less than this (grey levels, thumbnail mean)
CUT_RATIO = 2.5  # a pair this far above local motion ...
CUT_ABS = 14.0  # ... and at least this different (grey levels) ...
CUT_HIST = 0.3  # ... whose colour histograms are at least this far apart (Bhattacharyya) ...
CUT_HIST_RATIO = 3.0  # ... and this far above the local histogram change is a cut
GLITCH_RATIO = 2.5  # a frame this far from both neighbours, which agree with each other, is damaged
GLITCH_ABS = 10.0
FLAT = 2.0  # a frame whose thumbnail varies less than this (grey levels, std) shows no picture
BLOCK_JUMP = 0.2  # block-edge energy this much above the frames before it: decoded as blocks ...
BLOCK_STAY = 0.06  # ... and the frames after it too while they stay this much above
REPORT_EVERY = 10  # frames between progress reports of a scan
GAP_FACTOR = 1.5  # a time step this many nominal steps long hides dropped frames
SHOWN_PLACES = 6  # frames a summary names per kind of damage
BEAT_STRENGTH = 2.0  # a blocky find on the beat but this many times its typical jump is damage
CONVERSION_BEAT = 25  # frames between the jumps of a frame-rate conversion, at most (24 from 25)
GRID_BEAT = 48  # frames over which text scrolling onto the codec's grid repeats its pattern, at most
# A pair whose optical flow is this many times its neighbours' (and along it) spans lost frames: one,
# two or three (the flow falls short of the jump as it grows; between the bands: not said, rather than
# guess the count) ...
LOST_BANDS = ((1.6, 2.3), (2.4, 3.25), (3.35, 4.6))
STEADY = 0.5  # ... provided the neighbours' flows agree this well (squared difference / squared mean)
ALONG = 0.3  # ... and the pair's flow is their mean, scaled, but for this share of its energy
MOVING = 0.15  # ... and the neighbours move at least this much (thumbnail pixels, 160 wide)


@dataclass(frozen=True)
class Damage:
    kind: str  # "dropped", "duplicate", "undecodable", "corrupt", "blocky", "cut"
    frame: int  # the frame it concerns (for "dropped": the frame after which frames are missing)
    time: float  # seconds
    count: int = 1  # frames missing (dropped) or affected
    score: float = 0.0  # the measurement that decided it
    # a damaged packet's frame: the last frame that may carry its smear (those after it predict from it
    # until the next keyframe), None when the next frame is a keyframe or this is no packet's damage
    carried_to: int | None = None

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "frame": self.frame,
            "time": round(self.time, 6),
            "count": self.count,
            "score": round(float(self.score), 4),
            **({"may_carry_to": self.carried_to} if self.carried_to is not None else {}),
        }


@dataclass
class FrameStats:
    """Per-frame measurements from one pass; index i compares frame i with frame i-1."""

    diff: list[float] = field(default_factory=list)  # mean |grey difference| to the previous frame
    skip: list[float] = field(default_factory=list)  # same, between frames i-1 and i+1 (set at i+1)
    hist: list[float] = field(default_factory=list)  # colour-histogram distance to the previous frame
    blocks: list[float] = field(default_factory=list)  # block-edge energy ratio
    missing: list[bool] = field(default_factory=list)  # the frame did not decode
    spread: list[float] = field(default_factory=list)  # std of the frame's thumbnail (0: one colour)
    pace: list[Pace | None] = field(default_factory=list)  # the pair's motion against its neighbours'


@dataclass(frozen=True)
class Pace:
    """Pair i's optical flow F against the mean A of its neighbours' (pairs i-1 and i+1)."""

    steps: float  # F ≈ steps × A: how many of the neighbours' frame steps the pair's motion spans
    unsteady: float  # |F(i-1) - F(i+1)|² / |A|²: the neighbours move alike when small
    off_line: float  # |F - steps × A|² / |F|²: the pair moves along them when small
    motion: float  # mean |A| in thumbnail pixels (160 wide)

    def lost(self) -> int:
        """Frames lost inside the pair, or 0 when its motion does not say so clearly."""
        if self.unsteady > STEADY or self.off_line > ALONG or self.motion < MOVING:
            return 0
        return next((n for n, (lo, hi) in enumerate(LOST_BANDS, 1) if lo <= self.steps <= hi), 0)


def pace(before: np.ndarray, pair: np.ndarray, after: np.ndarray) -> Pace:
    """Pair i's flow against the flows of pairs i-1 and i+1 (each H×W×2)."""
    mean = (before + after) / 2
    energy = max(float((mean * mean).sum()), 1e-6)
    steps = float((pair * mean).sum()) / energy
    return Pace(
        steps=steps,
        unsteady=float(((before - after) ** 2).sum()) / energy,
        off_line=float(((pair - steps * mean) ** 2).sum()) / max(float((pair * pair).sum()), 1e-6),
        motion=float(np.sqrt((mean * mean).sum(-1)).mean()) * THUMB_WIDTH / pair.shape[1],
    )


def optical_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Dense flow between two grey thumbnails (Farnebäck: cheap at this size, enough to tell pace)."""
    return cv2.calcOpticalFlowFarneback(
        first.astype(np.uint8), second.astype(np.uint8), None, 0.5, 4, 15, 3, 5, 1.2, 0
    )


def thumbnail(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    height = max(1, round(h * THUMB_WIDTH / w))
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    small = cv2.resize(frame, (THUMB_WIDTH, max(1, frame.shape[0] * THUMB_WIDTH // frame.shape[1])))
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


class Measure:
    """Per-frame statistics gathered one frame at a time (so a caller can report progress between)."""

    def __init__(self):
        self.stats = FrameStats()
        self.previous = self.before = self.previous_hist = None
        self.flows: list[np.ndarray | None] = [None, None]  # of the last two pairs

    def add(self, frame: np.ndarray | None) -> None:
        stats = self.stats
        stats.pace.append(None)  # the pair ending here is judged once the next pair's flow is known
        if frame is None:
            stats.missing.append(True)
            for values in (stats.diff, stats.hist, stats.blocks, stats.skip, stats.spread):
                values.append(np.nan)
            self.before, self.previous, self.previous_hist = self.previous, None, None
            self.flows = [self.flows[1], None]
            return
        thumb, hist = thumbnail(frame), colour_histogram(frame)
        previous, before, previous_hist = self.previous, self.before, self.previous_hist
        stats.missing.append(False)
        stats.diff.append(float(np.abs(thumb - previous).mean()) if previous is not None else np.nan)
        stats.hist.append(
            float(cv2.compareHist(previous_hist, hist, cv2.HISTCMP_BHATTACHARYYA))
            if previous_hist is not None
            else np.nan
        )
        stats.skip.append(float(np.abs(thumb - before).mean()) if before is not None else np.nan)
        stats.blocks.append(blockiness(frame))
        stats.spread.append(float(thumb.std()))
        self._add_flow(optical_flow(previous, thumb) if previous is not None else None)
        self.before, self.previous, self.previous_hist = previous, thumb, hist

    def _add_flow(self, flow: np.ndarray | None) -> None:
        """Keep the newest pair's flow; the pair before it now has both neighbours: judge its pace."""
        earlier, middle = self.flows
        if earlier is not None and middle is not None and flow is not None and len(self.stats.pace) >= 2:
            self.stats.pace[-2] = pace(earlier, middle, flow)
        self.flows = [middle, flow]


def measure(frames: Iterable[tuple[int, np.ndarray | None]]) -> FrameStats:
    """One pass over (index, RGB frame or None): the per-frame statistics the detectors read."""
    measuring = Measure()
    for _, frame in frames:
        measuring.add(frame)
    return measuring.stats


def _local_motion(diff: np.ndarray, i: int) -> float:
    """The median frame difference around pair i, leaving the pair itself out."""
    lo, hi = max(0, i - LOCAL), min(len(diff), i + LOCAL + 1)
    around = np.concatenate([diff[lo:i], diff[i + 1 : hi]])
    around = around[np.isfinite(around)]
    return float(np.median(around)) if around.size else np.nan


def classify(stats: FrameStats, times: list[float], pts: list[int], step: int) -> list[Damage]:
    """Turn the statistics of one pass (and the frame times) into a sorted list of damage."""
    diff = np.asarray(stats.diff, np.float64)
    skip = np.asarray(stats.skip, np.float64)
    hist = np.asarray(stats.hist, np.float64)
    blocks = np.asarray(stats.blocks, np.float64)
    found: list[Damage] = []
    n = len(diff)
    cuts = set()
    for i in range(1, n):
        if not np.isfinite(diff[i]):
            continue
        local = _local_motion(diff, i)
        if not np.isfinite(local):
            continue
        local_hist = _local_motion(hist, i)
        new_colours = hist[i] > max(CUT_HIST, CUT_HIST_RATIO * local_hist)
        if diff[i] > max(CUT_RATIO * local, CUT_ABS) and new_colours:
            # A flash or a single damaged frame also jumps, into it and back out of it (a walk-through's
            # black frame was taken for a cut where the picture came back), but only within one shot:
            # the frames either side of it alike; a cut's new picture persists.
            same_shot = np.isfinite(skip[i]) and skip[i] <= max(CUT_RATIO * local, CUT_ABS)
            if not _is_glitch(diff, skip, i) and not (same_shot and _is_glitch(diff, skip, i - 1)):
                cuts.add(i)
                found.append(Damage("cut", i, times[i], score=diff[i] / max(local, 1e-3)))
                continue
        if diff[i] < DUP_ABS and diff[i] < DUP_RATIO * local:
            found.append(Damage("duplicate", i, times[i], score=diff[i]))
    for i in sorted(cuts):
        # A blank frame beside a cut (walk-through 40's black frame just before one) jumps both into
        # and out of itself, into another shot: it is a damaged frame, not a shot one frame long.
        if i + 1 in cuts and stats.spread[i] < FLAT:
            cuts.discard(i)
            found = [d for d in found if not (d.kind == "cut" and d.frame == i)]
            found.append(Damage("corrupt", i, times[i], score=diff[i] / max(_local_motion(diff, i), 1e-3)))
    for i in range(1, n - 1):
        if i in cuts or (i + 1) in cuts:
            continue
        if _is_glitch(diff, skip, i):
            score = min(diff[i], diff[i + 1]) / max(skip[i + 1], 1e-3)
            found.append(Damage("corrupt", i, times[i], score=score))
    blocky = [
        Damage("blocky", start, times[start], count=count, score=jump)
        for start, count, jump in _blocky_runs(blocks, cuts)
    ]
    beat = on_a_beat(blocky, GRID_BEAT)
    typical = float(np.median([d.score for d in blocky if d.frame in beat])) if beat else 0.0
    # on the beat but far stronger than the beat's own jumps: damage that fell on it
    found.extend(d for d in blocky if d.frame not in beat or d.score > BEAT_STRENGTH * typical)
    for i, missing in enumerate(stats.missing):
        if missing:
            found.append(Damage("undecodable", i, times[i]))
    found.extend(dropped(times, pts, step))
    found.extend(dropped_by_motion(stats.pace, found, times, pts, step))
    return sorted(found, key=lambda d: (d.frame, d.kind))


def dropped_by_motion(
    paces: list[Pace | None], found: list[Damage], times: list[float], pts: list[int], step: int
) -> list[Damage]:
    """Frames lost without a gap in the timestamps, told by the jump in a steady motion (see the module
    docstring). Not near other damage or a cut, whose frames make the motion jump for other reasons,
    and not where the timestamps already show the gap."""
    near_other = {i for d in found for i in range(d.frame - 1, d.frame + d.count + 2)}
    lost = []
    for i, p in enumerate(paces):
        if p is None or not p.lost() or i in near_other or i - 1 in near_other:
            continue
        if step > 0 and pts[i] - pts[i - 1] > GAP_FACTOR * step:
            continue
        lost.append(Damage("dropped", i - 1, times[i - 1], count=p.lost(), score=p.steps))
    beat = on_a_beat([replace(d, count=1) for d in lost], CONVERSION_BEAT)  # a jump is one pair
    return [d for d in lost if d.frame not in beat]


def on_a_beat(finds: list[Damage], longest: int) -> set[int]:
    """The finds (their first frames) that recur on a beat, which is how the clip was made, not damage
    (damage strikes where it may): a 30 fps clip made 24 by leaving one frame in five out jumps every
    4th frame (its frames keep their time; putting frames back slowed it down, walk-through 41), and
    lines of text scrolling 2 px a frame meet the codec's 8-px grid every 4th frame (1.5 px: on a
    pattern that repeats every 16; a third of a clean credit roll was called blocky). For the period
    of at most `longest` frames whose finds most often come exactly one period apart: each class of
    finds at one place in the period (a find of several frames, at any of its frames), three or more
    of them with two or more exactly one period apart (some go unseen), if four or more finds in all.
    A find off the beat stays (walk-through 42: a real loss beside a conversion's jumps, a damaged
    frame in a credit roll; three real losses 29 and 58 frames apart had been taken for a beat)."""
    best: tuple[int, set[int]] = (0, set())  # the period whose classes hold most finds one period apart
    for period in range(2, longest + 1):
        beat: set[int] = set()
        steady = 0
        for place in range(period):
            at = sorted(
                (f, d.frame)
                for d in finds
                for f in range(d.frame, d.frame + max(d.count, 1))
                if f % period == place
            )
            exact = sum(b[0] - a[0] == period for a, b in zip(at, at[1:]))
            if len({start for _, start in at}) >= 3 and exact >= 2:
                beat.update(start for _, start in at)
                steady += exact
        if (steady, len(beat)) > (best[0], len(best[1])):
            best = (steady, beat)
    return best[1] if len(best[1]) >= 4 else set()


def _blocky_runs(blocks: np.ndarray, cuts: set[int]) -> list[tuple[int, int, float]]:
    """(first frame, frames, jump) of each stretch whose block-edge energy jumps above the frames before
    it in the same shot and stays up (a damaged packet smears blocks until the next keyframe)."""
    runs, n, i, shot = [], len(blocks), 1, 0
    while i < n:
        if i in cuts:
            shot = i
        before = blocks[max(shot, i - LOCAL) : i]
        before = before[np.isfinite(before)]
        if np.isfinite(blocks[i]) and before.size >= 2 and blocks[i] - np.median(before) > BLOCK_JUMP:
            base, j = float(np.median(before)), i + 1
            while j < n and j not in cuts and np.isfinite(blocks[j]) and blocks[j] > base + BLOCK_STAY:
                j += 1
            runs.append((i, j - i, float(blocks[i] - base)))
            i = j
            continue
        i += 1
    return runs


def _is_glitch(diff: np.ndarray, skip: np.ndarray, i: int) -> bool:
    """Frame i differs from both neighbours far more than they differ from each other."""
    if i + 1 >= len(diff):
        return False
    near = min(diff[i], diff[i + 1])
    across = skip[i + 1]
    if not (np.isfinite(near) and np.isfinite(across)):
        return False
    return near > GLITCH_ABS and near > GLITCH_RATIO * across


def dropped(times: list[float], pts: list[int], step: int) -> list[Damage]:
    """Gaps in the timestamps longer than GAP_FACTOR nominal steps: frames lost between i-1 and i."""
    found = []
    for i in range(1, len(pts)):
        gap = pts[i] - pts[i - 1]
        if step > 0 and gap > GAP_FACTOR * step:
            missing = int(round(gap / step)) - 1
            if missing >= 1:
                found.append(Damage("dropped", i - 1, times[i - 1], count=missing, score=gap / step))
    return found


def scan(doc) -> list[Damage]:
    """Everything `classify` finds in a VideoDoc, decoding it once in order."""
    return drive(scan_steps(doc))


def scan_steps(doc, ctx: RunContext | None = None, span: tuple[float, float] = (0.0, 1.0)):
    """`scan` as a generator: progress every REPORT_EVERY frames (and cancel between), then the damage."""
    ctx = ctx or RunContext()
    measuring = Measure()
    total = max(doc.frame_count, 1)
    lo, hi = span
    for index, frame in doc.frames():
        measuring.add(frame)
        if index % REPORT_EVERY == 0:
            yield ctx.progress(lo + (hi - lo) * index / total, f"checking frame {index + 1}/{total}")
    pts = [s.pts for s in doc.slots]
    return with_smear(doc, classify(measuring.stats, doc.times, pts, doc.info.nominal_step))


PACKET_DAMAGE = ("undecodable", "blocky")  # what a damaged packet leaves, which later frames predict from


def with_smear(doc, damage: list[Damage]) -> list[Damage]:
    """Each damaged packet's frames with the last frame that may carry the damage on: the frames after
    it predict from it until the next keyframe (walk-through 42: one bad packet broke frames 106-136,
    the scan named 106-108 and the repair left the rest as a clean bill)."""
    keys = doc.info.keyframes
    sources = [s.source if s.source is not None else s.replaces for s in doc.slots]
    marked = []
    for d in damage:
        last = d.frame + d.count - 1
        source = sources[last] if last < len(sources) else None
        if d.kind not in PACKET_DAMAGE or source is None or not keys:
            marked.append(d)
            continue
        at = bisect.bisect_right(keys, doc.info.pts[source])
        key = keys[at] if at < len(keys) else None  # the next keyframe's pts: the smear stops there
        reach = last
        for i in range(last + 1, len(sources)):
            shown = sources[i]
            if shown is not None and key is not None and doc.info.pts[shown] >= key:
                break
            reach = i
        marked.append(replace(d, carried_to=reach) if reach > last else d)
    return marked


# What the scan looks for; dust, scratches and flicker are Detect damage's and the film tasks' to find.
# A frame lost before a constant-rate encode leaves no timestamp gap and is told only where the motion
# is steady: the summary says so (a walk-through read "no dropped frames" as a clean bill).
SCANNED_FOR = "dropped, repeated, broken or blocky frames or cuts"
LOST_UNSEEN = "a frame lost before a constant-rate encode is told only by a jump in steady motion"
NOT_SCANNED = f"{LOST_UNSEEN}; dust, scratches and flicker are for Detect damage, remove-dust and deflicker"


def summary(damage: list[Damage], first: int = 0) -> str:
    """'3 dropped (after 9, 18 ×2), 1 cut (at 60)', frames counted from `first` (the app's view counts
    from 1), or which kinds were looked for and not found (never plain 'no damage': a dusty,
    flickering film has none of these). Dropped frames are not there to count: said after which
    frame they are missing (a walk-through read "at 4" as the missing frame's number)."""
    counts: dict[str, int] = {}
    places: dict[str, list[str]] = {}  # where: a count alone sent people to --json
    for d in damage:
        counts[d.kind] = counts.get(d.kind, 0) + d.count
        smear = f" [may carry on to {d.carried_to + first}]" if d.carried_to is not None else ""
        places.setdefault(d.kind, []).append(
            f"{d.frame + first}" + (f" ×{d.count}" if d.count > 1 else "") + smear
        )

    def where(kind: str) -> str:
        shown = places[kind][:SHOWN_PLACES]
        return ", ".join(shown) + (", …" if len(places[kind]) > SHOWN_PLACES else "")

    described = [
        f"{n} {_plural(kind, n)} ({'after' if kind == 'dropped' else 'at'} {where(kind)})"
        for kind, n in sorted(counts.items())
    ]
    if not described:
        return f"no {SCANNED_FOR} found ({NOT_SCANNED})"
    # other damage found reads as the whole list: say what may hide (walk-through 41)
    unseen = "" if "dropped" in counts else f"; no dropped frame seen ({LOST_UNSEEN})"
    return ", ".join(described) + f"; frames counted from {first}{unseen}"


def _plural(kind: str, count: int) -> str:
    """'2 cuts', '2 duplicates'; the adjectives ('dropped', 'corrupt') stay as they are."""
    return f"{kind}s" if count > 1 and kind in ("cut", "duplicate") else kind


def cut_frames(damage: list[Damage]) -> list[int]:
    """Frames that start a new shot: nothing may be interpolated between frame i-1 and frame i."""
    return sorted(d.frame for d in damage if d.kind == "cut")


def carried(damage: list[Damage], before, after) -> list[Damage]:
    """The damage found on `before`, placed on the timeline of `after` (a repair of it, which is not
    scanned again while its frames are still to be made). A mark moves with its frame while `after`
    shows that frame as `before` did; marks on frames the repair rebuilt or may change go, and so does
    a gap that now holds frames. A cut stays with the frame that starts the shot. Frames are followed
    by the source frame they show, so marks stay on them when a repair moved them in time."""
    at = {s.identity: i for i, s in enumerate(after.slots)}

    def place(i: int) -> int | None:
        return at.get(before.slots[i].identity)

    def same(i: int) -> bool:
        j = place(i)
        return (
            j is not None
            and _unmoved(after.slots[j]) == _unmoved(before.slots[i])
            and after.as_decoded(j) == before.as_decoded(i)
        )

    kept = []
    for d in damage:
        here = place(d.frame)
        if here is None:
            continue
        if d.kind == "dropped":
            gap_end = place(d.frame + 1) if d.frame + 1 < before.frame_count else None
            keep = gap_end is None or gap_end == here + 1  # nothing inserted between
        else:
            keep = d.kind == "cut" or all(
                same(i) for i in range(d.frame, min(d.frame + d.count, before.frame_count))
            )
        if keep:
            reach = place(d.carried_to) if d.carried_to is not None else None
            kept.append(replace(d, frame=here, carried_to=reach))
    return kept


def _unmoved(slot):
    return replace(slot, pts=0)
