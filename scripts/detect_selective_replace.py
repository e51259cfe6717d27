"""Does replacing only what the fill contradicts close the detect-and-repair gap? (HELD-OUT TRAINING images)

    OMP_NUM_THREADS=1 python scripts/detect_selective_replace.py [--cache scores.npz]

Photoshop's Dust & Scratches replaces a pixel only where it differs from its surroundings by more than
a threshold. Here: learned inpainting fills each mask (the true mask, the default repair rule and more
generous rules), and the fill is kept only where some channel differs from the damaged pixel by more
than T/255 ("hard"), or blended in from T/2 to 3T/2 ("soft"). Prints the whole-image PSNR per mask and
tolerance, averaged over the images and seeds of scripts/detect_repair_rule.py. Session 26's finding
(docs/benchmarks.md): it saves little.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_repair_rule import rule_mask, samples  # noqa: E402

from core.bench.detect import psnr  # noqa: E402
from core.detect.run import detect_image  # noqa: E402
from core.documents import ImageDoc  # noqa: E402
from core.repair import run_repair  # noqa: E402
from core.runtime.context import RunContext  # noqa: E402

# (threshold, hysteresis low fraction, closing, holes, growth), as scripts/detect_repair_rule.py takes them.
RULES = {
    "default": (0.35, 0.3, 3, 2000, 0),
    "t25g1": (0.25, 0.3, 3, 2000, 1),
    "t15g2": (0.15, 0.3, 3, 2000, 2),
    "t10g3": (0.10, 0.3, 3, 2000, 3),
}
TOLERANCES = (0, 8, 16, 24, 32, 48)


def kept(damaged: np.ndarray, fill: np.ndarray, mask: np.ndarray, tolerance: float, soft: bool) -> np.ndarray:
    """The fill where it contradicts the damaged pixel by more than `tolerance` (0..255 units)."""
    deviation = np.abs(damaged - fill).max(axis=-1)
    if soft:
        weight = np.clip((deviation - tolerance / 2) / tolerance, 0.0, 1.0) * mask
    else:
        weight = (mask & (deviation > tolerance)).astype(np.float32)
    return damaged + weight[..., None] * (fill - damaged)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--cache", default=None, help="npz to keep the detector's scores in (reused if present)")
    args = p.parse_args()
    cache = dict(np.load(args.cache)) if args.cache and Path(args.cache).exists() else {}
    scores: dict[str, list[float]] = {}
    for key, clean, damaged, truth, _label in samples(args.images, args.seeds, False):
        if key not in cache:
            cache[key] = detect_image(damaged, coarse=True).score[0]
        doc = ImageDoc(pixels=(damaged * 255.0)[None].astype(np.float32), dtype="uint8")
        reference, damaged255 = clean * 255.0, damaged * 255.0
        masks = {"true": truth, **{name: rule_mask(cache[key], *rule) for name, rule in RULES.items()}}
        for name, mask in masks.items():
            ctx = RunContext(device="cpu")
            fill = run_repair(doc, "inpaint", method="inpaint-learned", mask=mask, ctx=ctx)
            for tolerance in TOLERANCES:
                for soft in (False, True) if tolerance else (False,):
                    out = kept(damaged255, fill.pixels[0], mask, tolerance, soft)
                    label = f"{name}/{'soft' if soft else 'hard'}{tolerance}"
                    scores.setdefault(label, []).append(psnr(np.round(out), reference))
        print(key, {k: round(v[-1], 2) for k, v in scores.items() if k.endswith("hard0")}, flush=True)
    if args.cache:
        np.savez_compressed(args.cache, **cache)
    print(json.dumps({k: round(float(np.mean(v)), 3) for k, v in scores.items()}, indent=1))


if __name__ == "__main__":
    main()
