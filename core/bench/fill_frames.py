"""`lacuna bench fill-frames --set FOLDER --drop 1,2,3 [--per-clip N] [--method ID ...] [--every-other]
[--duplicates N] [--cut-check] [--figure PATH] [--json]`.

Protocol (the datasets README's frame-recovery protocol):
- every video of the folder, sorted by name; scene cuts found by `core.video.damage` on the clip;
- for each run length k of `--drop`, `--per-clip` runs of k consecutive frames per clip, placed with
  fixed seeds (`default_rng([seed, clip, k])`), never overlapping and never touching a cut (the two
  good frames either side and the lost ones all belong to one shot);
- each run is rebuilt from the good frame before and after it at the times the timestamps give, with
  the good frames just outside those two (same shot, not doubted by the scan) handed on as the repair
  does (`core.video.fill.beside`; the classical methods and the baselines use the two frames only);
  PSNR and SSIM (RGB, 8-bit) on the rebuilt frames against the decoded originals, seconds per rebuilt
  frame (median), also scaled to a 640×360 frame by pixel count;
- `--every-other`: instead, every other frame is dropped (never one next to a cut) and rebuilt from its
  two neighbours, the protocol behind the figures in the datasets README;
- baselines always run: repeat, blend, the classical flow method;
- `--duplicates N`: N frames per clip replaced by a copy of the frame before (fixed seeds, away from
  cuts and from frames the scan already finds frozen in the untouched clip), the clip encoded with H.264
  (CRF 16), scanned; precision and recall of the frames reported as duplicates;
- `--cut-check`: for every cut, the frame before it and the frame after it are dropped in turn, the clip
  goes through `lacuna repair --task fill-frames` (written losslessly), and each rebuilt frame must equal
  one good neighbour exactly (a repeat from its own shot), never a mix of two shots.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.bench.common import emit
from core.bench.metrics import psnr, ssim
from core.errors import LacunaError

BASELINES = ("fill-frames-repeat", "fill-frames-blend", "fill-frames-flow")
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi"}
FIGURE_WIDTH = 1000
SIZE_360P = 640 * 360  # the speed target is per 640×360 frame: times are also scaled to it


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench fill-frames", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="folder of clean clips (a bench set)")
    p.add_argument("--drop", default="1,2,3", help="lengths of the runs of dropped frames")
    p.add_argument("--per-clip", type=int, default=10, help="runs of each length per clip")
    p.add_argument(
        "--method", nargs="+", default=None, help="methods besides the baselines (default: learned)"
    )
    p.add_argument("--every-other", action="store_true", help="drop every other frame instead")
    p.add_argument("--duplicates", type=int, default=0, help="inserted duplicates per clip to detect")
    p.add_argument("--cut-check", action="store_true", help="drop frames at every cut and check the fills")
    p.add_argument("--limit", type=int, default=0, help="only the first N clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", default=None, help="write rebuilt frames of the first clip to this PNG")
    p.add_argument("--json", action="store_true")
    return p


def clips(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    found = (
        sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) if folder.is_dir() else []
    )
    if not found:
        raise LacunaError(f"no video clips in {folder}")
    return found


def interpolators(ids: list[str]) -> dict[str, Any]:
    """Method id -> interpolator(a, b, ts), for the methods whose card is available."""
    from core.methods import get_method

    out = {}
    for mid in ids:
        card = get_method(mid).card
        if card.task != "fill-frames":
            raise LacunaError(f"{mid} is not a fill-frames method")
        if not card.available:
            print(f"skipping {mid}: {card.unavailable_reason}", file=sys.stderr)
            continue
        out[mid] = interpolator_for(mid)
    return out


def interpolator_for(mid: str):
    from core.video import interpolate

    if mid.startswith("fill-frames-learned"):
        from core.video.learned import learned_interpolator

        return learned_interpolator()
    return getattr(interpolate, mid.removeprefix("fill-frames-"))


def place_runs(count: int, cuts: list[int], length: int, n: int, rng: np.random.Generator) -> list[int]:
    """Start frames of `n` runs of `length` lost frames with a good frame either side, none touching a cut."""
    allowed = []
    for start in range(1, count - length):
        first, last = start - 1, start + length  # the good frames either side
        if any(first < c <= last for c in cuts):
            continue
        allowed.append(start)
    rng.shuffle(allowed)
    chosen: list[int] = []
    for start in allowed:
        if all(abs(start - other) > length + 1 for other in chosen):
            chosen.append(start)
        if len(chosen) == n:
            break
    return sorted(chosen)


def every_other(count: int, cuts: list[int]) -> list[int]:
    return [i for i in range(1, count - 1, 2) if not any(i - 1 < c <= i + 1 for c in cuts)]


def main(argv: list[str] | None = None) -> int:
    from core.io import read
    from core.video.damage import cut_frames, scan
    from core.video.fill import damaged_frames

    args = build_parser().parse_args(argv)
    files = clips(args.set)[: args.limit or None]
    extra = args.method if args.method is not None else ["fill-frames-learned"]
    methods = interpolators([*BASELINES, *[m for m in extra if m not in BASELINES]])
    lengths = [int(v) for v in args.drop.split(",") if v.strip()]
    rows: list[dict[str, Any]] = []
    scores: dict[tuple[str, int], dict[str, list[float]]] = {}
    figure_runs: list[tuple[str, list[np.ndarray], dict[str, list[np.ndarray]]]] = []
    duplicate_counts = {"found": 0, "inserted": 0, "correct": 0, "already": 0}
    cut_results = {"cuts": 0, "rebuilt": 0, "mixed": 0}
    clip_notes: dict[str, str] = {}
    for clip_index, path in enumerate(files):
        doc = read(path)
        damage = scan(doc)
        cuts = cut_frames(damage)
        doubtful = damaged_frames(damage)
        times = doc.times
        plans = (
            [("every other", 1, [[i] for i in every_other(doc.frame_count, cuts)])]
            if args.every_other
            else []
        )
        for k in [] if args.every_other else lengths:
            rng = np.random.default_rng([args.seed, clip_index, k])
            starts = place_runs(doc.frame_count, cuts, k, args.per_clip, rng)
            plans.append((f"drop {k}", k, [list(range(s, s + k)) for s in starts]))
        for label, k, runs in plans:
            row: dict[str, Any] = {"clip": path.name, "protocol": label, "runs": len(runs)}
            for mid, make in methods.items():
                bucket = scores.setdefault((mid, k), {"psnr": [], "ssim": [], "spf": [], "spf360": []})
                p_list, s_list = [], []
                for lost in runs:
                    a, b, truth, outer = _run_frames(doc, lost, doubtful, set(cuts))
                    t0, t1 = times[lost[0] - 1], times[lost[-1] + 1]
                    ts = [(times[i] - t0) / (t1 - t0) for i in lost]
                    started = time.perf_counter()
                    made = make(a, b, ts, outer)
                    seconds = (time.perf_counter() - started) / len(lost)
                    bucket["spf"].append(seconds)
                    bucket["spf360"].append(seconds * SIZE_360P / (a.shape[0] * a.shape[1]))
                    for got, want in zip(made, truth):
                        p_list.append(psnr(got, want))
                        s_list.append(ssim(got, want))
                    if args.figure and clip_index == 0 and lost is runs[0] and k == max(lengths, default=1):
                        figure_runs.append((mid, truth, {mid: made}))
                bucket["psnr"].extend(p_list)
                bucket["ssim"].extend(s_list)
                row[f"{mid} PSNR"] = round(float(np.mean(p_list)), 3) if p_list else None
                row[f"{mid} SSIM"] = round(float(np.mean(s_list)), 4) if s_list else None
            rows.append(row)
        if args.duplicates:
            counts = _duplicates(
                doc, damage, cuts, args.duplicates, np.random.default_rng([args.seed, clip_index])
            )
            for key in duplicate_counts:
                duplicate_counts[key] += counts[key]
            clip_notes[f"duplicates in {path.name}"] = (
                f"{counts['correct']} of {counts['inserted']} found,"
                f" {counts['found'] - counts['correct']} wrong"
                f" ({counts['already']} frozen frames already in the untouched clip, not scored)"
            )
        if args.cut_check and cuts:
            result = _cut_check(doc, cuts)
            for key in cut_results:
                cut_results[key] += result[key]
            clip_notes[f"cut check in {path.name}"] = (
                f"{result['cuts']} cuts, {result['rebuilt']} frames rebuilt, {result['mixed']} mixing shots"
            )
    summary = {**_summary(scores, duplicate_counts, cut_results), **clip_notes}
    if args.figure and figure_runs:
        _figure(figure_runs, Path(args.figure))
        summary["figure"] = args.figure
    emit(rows, summary, args.json, "fill-frames: rebuilt video frames")
    return 0


def _run_frames(doc, lost: list[int], doubtful: set[int], cuts: set[int]):
    """The good frames either side of a lost run, the lost frames, and the frames just outside."""
    from core.video.fill import beside, outer_frames

    first, last = lost[0] - 1, lost[-1] + 1
    before = beside(first, -1, doc.frame_count, doubtful, cuts)
    after = beside(last, 1, doc.frame_count, doubtful, cuts)
    lo, hi = before if before is not None else first, after if after is not None else last
    frames = dict(zip(range(lo, hi + 1), doc.window(lo, hi + 1)))
    times = doc.times
    outer = outer_frames(
        frames, before, after, lambda i: (times[i] - times[first]) / (times[last] - times[first])
    )
    return frames[first], frames[last], [frames[i] for i in lost], outer


def _summary(scores, duplicate_counts, cut_results) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for (mid, k), bucket in sorted(scores.items(), key=lambda item: (item[0][1], item[0][0])):
        if not bucket["psnr"]:
            continue
        summary[f"{mid} run {k} PSNR"] = round(float(np.mean(bucket["psnr"])), 3)
        summary[f"{mid} run {k} SSIM"] = round(float(np.mean(bucket["ssim"])), 4)
        summary[f"{mid} run {k} s/frame"] = round(float(np.median(bucket["spf"])), 4)
        summary[f"{mid} run {k} s per 640x360 frame"] = round(float(np.median(bucket["spf360"])), 4)
    if duplicate_counts["inserted"]:
        found, correct = duplicate_counts["found"], duplicate_counts["correct"]
        summary["duplicates precision"] = round(correct / found, 4) if found else 0.0
        summary["duplicates recall"] = round(correct / duplicate_counts["inserted"], 4)
    if cut_results["cuts"]:
        summary["cut check: frames rebuilt next to cuts"] = cut_results["rebuilt"]
        summary["cut check: frames mixing two shots"] = cut_results["mixed"]
    return summary


def _duplicates(doc, damage, cuts, n: int, rng: np.random.Generator) -> dict[str, int]:
    """Insert `n` frozen frames, encode with H.264, scan, and count what the scan gets right."""
    from core.io import read, write
    from core.video.damage import scan
    from core.video.document import Slot

    frozen_already = {d.frame for d in damage if d.kind == "duplicate"}
    avoid = set()
    for c in [*cuts, *frozen_already]:
        avoid.update(range(c - 2, c + 3))
    candidates = [i for i in range(2, doc.frame_count - 2) if i not in avoid]
    rng.shuffle(candidates)
    chosen: list[int] = []
    for i in candidates:
        if all(abs(i - j) > 2 for j in chosen):
            chosen.append(i)
        if len(chosen) == n:
            break
    wanted = set(chosen)
    # The frame before shown again at this frame's time, as a frame-rate conversion or a stalled
    # capture repeats it (the encoder gets the same decoded picture twice).
    slots = [Slot(s.pts, i - 1, "duplicate") if i in wanted else s for i, s in enumerate(doc.slots)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "duplicated.mp4"
        write(doc.with_timeline(slots, {}), path, codec="h264", sidecar=False)
        flagged = {d.frame for d in scan(read(path)) if d.kind == "duplicate"} - frozen_already
    return {
        "inserted": len(wanted),
        "found": len(flagged),
        "correct": len(flagged & wanted),
        "already": len(frozen_already),
    }


def _cut_check(doc, cuts: list[int]) -> dict[str, int]:
    """Drop the frame before and the frame after each cut; the repair must repeat, never mix shots."""
    from core.io import read, write
    from core.repair import run_repair

    rebuilt = mixed = 0
    for cut in cuts:
        for lost in (cut - 1, cut):
            if lost <= 0 or lost >= doc.frame_count - 1:
                continue
            kept = [s for i, s in enumerate(doc.slots) if i != lost]
            with tempfile.TemporaryDirectory() as folder:
                damaged = write(
                    doc.with_timeline(kept, {}), Path(folder) / "cut.mkv", codec="ffv1", sidecar=False
                )
                source = read(damaged)
                result = run_repair(source, "fill-frames", method="fill-frames-flow")
                index = next(i for i, s in enumerate(result.slots) if s.source is None)
                window = result.window(index - 1, index + 2)
                rebuilt += 1
                if not any(np.array_equal(window[1], other) for other in (window[0], window[2])):
                    mixed += 1
    return {"cuts": len(cuts), "rebuilt": rebuilt, "mixed": mixed}


def _figure(runs, path: Path) -> None:
    """One row per method: the rebuilt frames of the first run, the truth on the top row."""
    from PIL import Image

    truth = runs[0][1]
    grid = [np.concatenate(truth, axis=1)]
    for mid, _, made in runs:
        grid.append(np.concatenate(made[mid], axis=1))
    picture = Image.fromarray(np.concatenate(grid, axis=0))
    picture.thumbnail((FIGURE_WIDTH, FIGURE_WIDTH * 4))  # a 720p clip's three frames would be 3840 wide
    picture.save(path)
