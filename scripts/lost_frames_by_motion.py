"""The damage scan's finding of frames lost before a constant-rate encode (no timestamp gap).

For each clip: frames decoded as the scan sees them; the clean clip's pairs scanned once (every
"dropped" there is a false find); then, at every `--every`-th frame, 1, 2 and then 3 frames taken out of
a window of 10 frames around it, the window scanned with regular timestamps as a constant-rate encode
leaves it. A loss counts as found when the scan says "dropped" after the frame before it with the
right count, as miscounted with another count, and as in motion when the frames around it move at
least the scan's MOVING threshold (a loss in a still shot shows nothing and costs nothing).

The thresholds (core.video.damage) were set on the training clips:

    OMP_NUM_THREADS=2 .venv/bin/python scripts/lost_frames_by_motion.py ../shared/datasets/video/train
    OMP_NUM_THREADS=2 .venv/bin/python scripts/lost_frames_by_motion.py ../shared/datasets/video/bench
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.io import read
from core.video.damage import MOVING, Measure, classify, optical_flow, thumbnail

WINDOW = 5  # frames kept either side of a loss


def scanned(frames: list[np.ndarray]) -> list[tuple[str, int, int]]:
    """(kind, frame, count) of what the scan finds in these frames at a constant rate (step 1)."""
    measuring = Measure()
    for frame in frames:
        measuring.add(frame)
    n = len(frames)
    return [(d.kind, d.frame, d.count) for d in classify(measuring.stats, list(range(n)), list(range(n)), 1)]


def moving(frames: list[np.ndarray], at: int) -> bool:
    """The frames either side of a loss before frame `at` move (mean flow, thumbnail pixels)."""
    thumbs = [thumbnail(f) for f in frames[at - 2 : at + 2]]
    before, after = optical_flow(thumbs[0], thumbs[1]), optical_flow(thumbs[2], thumbs[3])
    mean = (before + after) / 2
    return float(np.sqrt((mean * mean).sum(-1)).mean()) >= MOVING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--every", type=int, default=4)
    args = parser.parse_args()
    rows = []
    for clip in sorted(p for p in args.folder.iterdir() if p.suffix in (".mp4", ".webm", ".mkv")):
        frames = [f for _, f in read(clip).frames()]
        false = [d for d in scanned(frames) if d[0] == "dropped"]
        counts = {n: [0, 0, 0, 0] for n in (1, 2, 3)}  # losses, in motion, found, miscounted
        for at in range(WINDOW + 1, len(frames) - WINDOW - 3, args.every):
            for lost in (1, 2, 3):
                window = frames[at - WINDOW : at] + frames[at + lost : at + lost + WINDOW]
                said = [d for d in scanned(window) if d[0] == "dropped"]
                tally = counts[lost]
                tally[0] += 1
                tally[1] += moving(frames, at)
                tally[2] += said == [("dropped", WINDOW - 1, lost)]
                tally[3] += bool(said) and said != [("dropped", WINDOW - 1, lost)]
        rows.append((clip.name, len(frames), len(false), counts))
        print(f"{clip.name}: {len(frames)} frames, clean clip: {len(false)} said lost {false}", flush=True)
    print(
        "\n| clip | frames | clean clip: said lost |"
        + "".join(f" {n} lost: found / in motion / all (miscounted) |" for n in (1, 2, 3))
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, n, false, counts in rows:
        cells = " | ".join(f"{c[2]} / {c[1]} / {c[0]} ({c[3]})" for c in counts.values())
        print(f"| {name} | {n} | {false} | {cells} |")


if __name__ == "__main__":
    main()
