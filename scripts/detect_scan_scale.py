"""How large the learned detector should see a photo, on HELD-OUT TRAINING images "scanned" smaller.

    OMP_NUM_THREADS=2 python scripts/detect_scan_scale.py --size 0.5 --scales 1,1.5,2,2.5
    OMP_NUM_THREADS=2 python scripts/detect_scan_scale.py --size 0.75 --scales 1,1.33,1.6
    OMP_NUM_THREADS=2 python scripts/detect_scan_scale.py --size 1 --scales 1,2

The last `--images` colour training images (the ones `lacuna train detect` holds out), each with mixed
damage for two seeds as in `scripts/detect_repair_rule.py`, are damaged at their own size (481 × 321)
and then shrunk to `--size` of it, as a print scanned at a lower resolution; the truth is shrunk with
them. The learned detector scores each at every `--scales` (its `scale` parameter: the multiple of the
size it is run at); pooled F1 at its threshold (hysteresis as `lacuna detect`) and AP are printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_repair_rule import samples  # noqa: E402

from core.bench.detect import PixelScores  # noqa: E402
from core.detect.run import detect_image, propose  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--size", type=float, default=0.5, help="the scan's size, a fraction of the photo's")
    p.add_argument("--scales", default="1,2")
    args = p.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    pooled = {scale: PixelScores() for scale in scales}
    for _key, _clean, damaged, truth, _label in samples(args.images, args.seeds, False):
        height, width = damaged.shape[:2]
        size = (round(width * args.size), round(height * args.size))
        scan = np.clip(cv2.resize(damaged.astype(np.float32), size, interpolation=cv2.INTER_AREA), 0, 1)
        seen = cv2.resize(truth.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
        for scale in scales:
            found = detect_image(scan, "detect-learned", scale=scale)
            score = found.score[0]
            pooled[scale].add(score, propose(score, found.threshold, 0.3), seen)
    long_side = round(max(damaged.shape[:2]) * args.size)
    for scale, scores in pooled.items():
        f1 = 2 * scores.hits / max(scores.proposed + scores.actual, 1)
        print(
            f"scan at {args.size:g} of the photo (long side {long_side} px), scored at x{scale:g}"
            f" ({round(long_side * scale)} px): F1 {f1:.3f}, AP {scores.average_precision():.3f}"
        )


if __name__ == "__main__":
    main()
