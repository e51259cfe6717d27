"""How large the learned detector should see a photo, on HELD-OUT TRAINING images "scanned" smaller.

    OMP_NUM_THREADS=2 python scripts/detect_scan_scale.py --size 0.5 --scales 1,1.5,2,2.5
    OMP_NUM_THREADS=2 python scripts/detect_scan_scale.py --size 0.75 --scales 1,1.33,1.6
    OMP_NUM_THREADS=2 python scripts/detect_scan_scale.py --size 1 --scales 1,2
    OMP_NUM_THREADS=1 python scripts/detect_scan_scale.py --size 0.53 --scales 1.88,2.2,2.5 --clean

The last `--images` colour training images (the ones `lacuna train detect` holds out), each with mixed
damage for two seeds as in `scripts/detect_repair_rule.py`, are damaged at their own size (481 × 321)
and then shrunk to `--size` of it, as a print scanned at a lower resolution; the truth is shrunk with
them. The learned detector scores each at every `--scales` (its `scale` parameter: the multiple of the
size it is run at); pooled F1 at its threshold (hysteresis as `lacuna detect`) and AP are printed.
`--clean`: also the share of the clean images' pixels proposed, shrunk the same way, as they are and
toned sepia as an old print (where a pale collar or face can be taken for a stain).
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
from core.luma import luma_of  # noqa: E402

SEPIA = np.array([1.0, 0.87, 0.68], np.float32)  # the middle of the training recipe's print tints


def shrunk(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` as a scan of `size` (width, height): area-averaged, in [0, 1]."""
    return np.clip(cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_AREA), 0, 1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--size", type=float, default=0.5, help="the scan's size, a fraction of the photo's")
    p.add_argument("--scales", default="1,2")
    p.add_argument("--clean", action="store_true", help="also the share of clean pixels proposed")
    args = p.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    pooled = {scale: PixelScores() for scale in scales}
    marked = {(look, scale): [0, 0] for look in ("clean", "sepia") for scale in scales}
    looked_at = set()
    for key, clean, damaged, truth, _label in samples(args.images, args.seeds, False):
        height, width = damaged.shape[:2]
        size = (round(width * args.size), round(height * args.size))
        scan = shrunk(damaged, size)
        seen = cv2.resize(truth.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
        name = key.split("/")[0]
        looks = {}
        if args.clean and name not in looked_at:  # each clean image once, not once per seed
            looked_at.add(name)
            looks = {"clean": shrunk(clean, size), "sepia": luma_of(shrunk(clean, size))[..., None] * SEPIA}
        for scale in scales:
            found = detect_image(scan, "detect-learned", scale=scale)
            score = found.score[0]
            pooled[scale].add(score, propose(score, found.threshold, 0.3), seen)
            for look, image in looks.items():
                found = detect_image(np.ascontiguousarray(image, np.float32), "detect-learned", scale=scale)
                proposed = propose(found.score[0], found.threshold, 0.3)
                marked[look, scale][0] += int(proposed.sum())
                marked[look, scale][1] += proposed.size
    long_side = round(max(damaged.shape[:2]) * args.size)
    for scale, scores in pooled.items():
        f1 = 2 * scores.hits / max(scores.proposed + scores.actual, 1)
        clean = "".join(
            f", {look} {100 * marked[look, scale][0] / marked[look, scale][1]:.3f}% proposed"
            for look in ("clean", "sepia")
            if args.clean
        )
        print(
            f"scan at {args.size:g} of the photo (long side {long_side} px), scored at x{scale:g}"
            f" ({round(long_side * scale)} px): F1 {f1:.3f}, AP {scores.average_precision():.3f}{clean}"
        )


if __name__ == "__main__":
    main()
