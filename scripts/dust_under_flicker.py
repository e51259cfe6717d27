"""remove-dust's speck finding on flickering film, with and without the neighbours' levels matched.

Training clips only (`video/train`): windows of frames, 640 px wide, the detect bench's dust drawn on
each frame (training seeds), then a flicker: each frame's brightness scaled and shifted by a random
gain and offset (none at --flicker 0). For each inner frame of a window (both neighbours there): the
share of drawn dust pixels found, the share of undamaged pixels changed, and the PSNR of the
repaired frame against the flickered clean one (what a dust remover should give back).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/dust_under_flicker.py --flicker 0,0.1,0.2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from core.detect.damage import draw
from core.io import read
from core.video.oldfilm import speck_mask

TRAIN = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "video" / "train"
WIDTH = 640


def windows(clip: Path, count: int, length: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    doc = read(clip)
    starts = sorted(rng.choice(max(1, doc.frame_count - length), size=count, replace=False))
    out = []
    for start in starts:
        frames = [frame for _, frame in doc.frames(int(start), int(start) + length)]
        scale = WIDTH / frames[0].shape[1]
        size = (WIDTH, int(round(frames[0].shape[0] * scale / 2) * 2))
        out.append([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
    return out


def flickered(frame: np.ndarray, gain: float, offset: float) -> np.ndarray:
    return np.clip(frame * gain + offset, 0.0, 1.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--flicker", default="0,0.1,0.2", help="largest gain change per frame, e.g. 0.2 = ±20%"
    )
    parser.add_argument("--windows", type=int, default=4, help="windows per clip")
    parser.add_argument("--length", type=int, default=6)
    parser.add_argument("--threshold", type=float, default=30.0)
    parser.add_argument("--max-area", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    clips = sorted(p for p in TRAIN.iterdir() if p.suffix in (".mp4", ".webm", ".mkv"))
    material = [w for clip in clips for w in windows(clip, args.windows, args.length, rng)]
    columns = ("flicker", "levels matched", "dust found", "undamaged changed", "PSNR damaged", "repaired")
    print(f"| {' | '.join(columns)} | frames |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for amount in (float(v) for v in args.flicker.split(",")):
        for match in (False, True):
            found = changed = before_db = after_db = 0.0
            n = 0
            draws = np.random.default_rng(7)  # the same dust and flicker for both variants
            for window in material:
                clean = [f.astype(np.float32) / 255.0 for f in window]
                gains = 1.0 + draws.uniform(-amount, amount, len(clean))
                offsets = draws.uniform(-amount, amount, len(clean)) * 0.2
                damaged, truths, targets = [], [], []
                for k, frame in enumerate(clean):
                    dusty, truth = draw(frame, "dust", np.random.default_rng(int(draws.integers(1 << 30))))
                    damaged.append(np.rint(flickered(dusty, gains[k], offsets[k]) * 255).astype(np.uint8))
                    targets.append(flickered(frame, gains[k], offsets[k]))
                    truths.append(truth)
                for k in range(1, len(damaged) - 1):
                    mask, fill = speck_mask(
                        damaged[k], damaged[k - 1], damaged[k + 1], args.threshold, args.max_area, match
                    )
                    repaired = np.where(mask[..., None], np.clip(np.rint(fill), 0, 255), damaged[k]) / 255.0
                    found += float((mask & truths[k]).sum() / max(truths[k].sum(), 1))
                    changed += float((mask & ~truths[k]).sum() / max((~truths[k]).sum(), 1))
                    before_db += psnr(damaged[k] / 255.0, targets[k])
                    after_db += psnr(repaired, targets[k])
                    n += 1
            print(
                f"| ±{amount:.0%} | {'yes' if match else 'no'} | {found / n:.3f} | {changed / n * 100:.2f}% |"
                f" {before_db / n:.2f} | {after_db / n:.2f} | {n} |"
            )


if __name__ == "__main__":
    main()
