"""How `detect-learned-frames` checks the learned marks against the neighbouring frames, chosen on
TRAINING clips (core/detect/frames.py; docs/benchmarks.md, "Clips checked against their neighbouring
frames").

    OMP_NUM_THREADS=2 python scripts/detect_video_gate.py [--cache scores.pkl]

Each clip of ../shared/datasets/video/train gives three windows of 8 frames (at 10%, 45% and 80% of
it); every frame gets the video bench's damage (dust, blotches, scratches) with training seeds. The
learned detector scores each frame alone, the temporal measure gives each pixel's departure from its
warped neighbours, on the damaged and on the clean frames. For each way of gating the learned scores
(none; per pixel by the departure, dilated or not; per mark by its mean departure) it prints AP, F1,
precision and recall on the damage at the learned detector's default threshold, and the share of the
clean frames proposed.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

from core.bench.detect import PixelScores
from core.detect.classical import departures
from core.detect.damage import draw
from core.detect.frames import MARK_FLOOR
from core.detect.run import propose, run_detect
from core.documents import ImageDoc

TRAIN = Path(__file__).resolve().parent.parent / "../shared/datasets/video/train"
WINDOWS = (0.1, 0.45, 0.8)
FRAMES = 8


def windows(path: Path) -> list[list[np.ndarray]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    found = []
    for start in WINDOWS:
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(start * total))
        frames = []
        while len(frames) < FRAMES:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame[..., ::-1].astype(np.float32) / 255.0)
        found.append(frames)
    capture.release()
    return found


def measured() -> list[dict[str, np.ndarray]]:
    data = []
    for clip_index, clip in enumerate(sorted(TRAIN.iterdir())):
        for window_index, frames in enumerate(windows(clip)):
            damaged, truths = [], []
            for t, frame in enumerate(frames):
                seed = 50000 + t + 100 * window_index + 1000 * clip_index
                hurt, truth = draw(frame, ("dust", "blotch", "scratch"), np.random.default_rng(seed))
                damaged.append(np.round(hurt * 255.0))
                truths.append(truth)
            entry = {"truth": np.stack(truths)}
            clean = np.round(np.stack(frames) * 255.0)
            for name, stack in (("damaged", np.stack(damaged)), ("clean", clean)):
                doc = ImageDoc(pixels=stack.astype(np.float32), dtype="uint8")
                entry[f"{name} learned"] = run_detect(doc, method="detect-learned").score
                entry[f"{name} departure"] = departures(stack / 255.0)
            data.append(entry)
            print(f"{clip.name}, window {window_index + 1}", flush=True)
    return data


def per_pixel(score, departure, full, dilate):
    import cv2

    if dilate > 1:
        departure = np.stack([cv2.dilate(d, np.ones((dilate, dilate), np.uint8)) for d in departure])
    return score * np.clip(departure / full, 0.0, 1.0)


def per_mark(score, departure, full):
    import core.detect.frames as frames

    shipped = frames.FULL_DEPARTURE
    frames.FULL_DEPARTURE = full
    try:
        return frames.checked_against_neighbours(score, departure)
    finally:
        frames.FULL_DEPARTURE = shipped


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cache", default=None, help="a pickle to keep the scores in (reused if present)")
    args = p.parse_args()
    cache = Path(args.cache) if args.cache else None
    data = pickle.loads(cache.read_bytes()) if cache and cache.exists() else measured()
    if cache and not cache.exists():
        cache.write_bytes(pickle.dumps(data))
    gates = {"learned alone": lambda s, d: s}
    for full in (0.01, 0.02, 0.04, 0.08):
        for dilate in (1, 5, 9):
            gates[f"per pixel, full at {full}, dilated {dilate}"] = lambda s, d, f=full, k=dilate: per_pixel(
                s, d, f, k
            )
        gates[f"per mark (scores from {MARK_FLOOR}), full at {full}"] = lambda s, d, f=full: per_mark(s, d, f)
        for dilate in (1, 3):  # a mark's pixels that depart themselves keep their score too
            name = f"per mark or per pixel dilated {dilate}, full at {full}"
            gates[name] = lambda s, d, f=full, k=dilate: np.maximum(per_mark(s, d, f), per_pixel(s, d, f, k))
    for name, gate in gates.items():
        scores, clean = PixelScores(), []
        for entry in data:
            checked = gate(entry["damaged learned"], entry["damaged departure"])
            proposal = propose(checked, 0.5, 0.3)
            for t in range(len(checked)):
                scores.add(checked[t], proposal[t], entry["truth"][t])
            clean.append(propose(gate(entry["clean learned"], entry["clean departure"]), 0.5, 0.3).mean())
        s = scores.summary()
        print(
            f"{name}: AP {s['AP']:.3f}, F1 {s['F1']:.3f}, precision {s['precision']:.3f},"
            f" recall {s['recall']:.3f}, clean frames marked {100 * np.mean(clean):.3f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
