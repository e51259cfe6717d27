"""Where detect-and-repair loses PSNR, and which repair-mask rule loses least, on HELD-OUT TRAINING images.

    OMP_NUM_THREADS=1 python scripts/detect_repair_rule.py --images 8 --seeds 2

The images are the last `--images` of ../shared/datasets/images/train/color432 (the ones `lacuna train
detect` holds out for validation), each damaged with mixed damage for `--seeds` seeds (never the bench's
seeds or images). For each rule (threshold, hysteresis low fraction, growth in pixels) it reports, per
damage kind, the share of damaged pixels the rule misses and the squared error those missed pixels leave,
and the whole-image PSNR of learned inpainting on the rule's mask next to the true mask's. It also splits
the shipped rule's loss (the first one reported) into what missing costs (repair on proposal ∩ truth)
and what over-marking costs (repair on proposal ∪ truth).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from core.bench.detect import PixelScores, load_clean, repair_scores
from core.detect.damage import KINDS, VISIBLE_ALPHA, draw
from core.detect.run import REPAIR_RULES, RepairRule, detect_image, repair_mask

TRAIN = Path(__file__).resolve().parent.parent / "../shared/datasets/images/train/color432"


def samples(images: int, seeds: int, gray: bool):
    clean_images = load_clean(TRAIN, gray, 0)[-images:]
    for index, (name, clean) in enumerate(clean_images):
        for seed in range(seeds):
            layers: dict[str, np.ndarray] = {}
            rng = np.random.default_rng(777 + seed + 100 * index)
            damaged, truth = draw(clean, "mixed", rng, layers=layers)
            damaged = np.round(damaged * 255.0) / 255.0
            # The kind a damaged pixel shows: the last-drawn (topmost) kind visible there.
            label = np.full(truth.shape, -1, np.int8)
            for number, kind in enumerate(KINDS):  # not `index`: the next seed's rng needs the image's
                label[layers[kind] >= VISIBLE_ALPHA] = number
            label[~truth] = -1
            yield f"{name}/{seed}", clean, damaged, truth, label


def rule_mask(score, threshold, low, close, holes, grow):
    """The mask of one rule; `threshold` absolute (the learned detector's default is 0.5)."""
    return repair_mask(score, 0.5, RepairRule(threshold / 0.5, low, close, holes, grow))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--gray", action="store_true")
    p.add_argument("--thresholds", default="0.5,0.35,0.25,0.15,0.1")
    p.add_argument("--lows", default="0.3")
    p.add_argument("--closes", default="0,2,4", help="closing radii (px)")
    p.add_argument("--holes", default="0,1500", help="fill holes up to this area (px)")
    p.add_argument("--grows", default="0,1")
    p.add_argument("--cache", default=None, help="npz to keep the scores in (reused if present)")
    p.add_argument("--weights", default=None, help="a folder to take detect.safetensors from")
    p.add_argument("--json", default=None)
    p.add_argument("--no-split", action="store_true", help="skip splitting the shipped rule's loss")
    p.add_argument("--no-repair", action="store_true", help="detection scores only (fast)")
    p.add_argument("--no-coarse", action="store_true", help="detect-learned without its half-size pass")
    p.add_argument("--ensemble", action="store_true", help="detect-learned with its 8-pass ensemble")
    args = p.parse_args()
    if args.weights:
        from core.bench.common import use_weights_folder

        use_weights_folder(args.weights)
    rules = [
        (float(t), float(lo), int(c), int(h), int(g))
        for t in args.thresholds.split(",")
        for lo in args.lows.split(",")
        for c in args.closes.split(",")
        for h in args.holes.split(",")
        for g in args.grows.split(",")
    ]
    shipped = REPAIR_RULES["detect-learned"]
    shipped_rule = (0.5 * shipped.scale, shipped.low_fraction, shipped.close, shipped.holes, shipped.grow)
    cached = dict(np.load(args.cache)) if args.cache and Path(args.cache).exists() else {}
    data = []
    for key, clean, damaged, truth, label in samples(args.images, args.seeds, args.gray):
        # a cache holds every variant, never mixed up
        key = f"{key}/{'fine' if args.no_coarse else 'coarse'}{'/ensemble' if args.ensemble else ''}"
        if key not in cached:
            cached[key] = detect_image(damaged, coarse=not args.no_coarse, ensemble=args.ensemble).score[0]
        score = cached[key]
        data.append((key, clean, damaged, truth, label, score))
    if args.cache:
        np.savez_compressed(args.cache, **cached)
    pooled = PixelScores()
    for _key, _clean, _damaged, truth, _label, score in data:
        pooled.add(score, score >= 0.5, truth)
    best, best_f1 = pooled.best_threshold()
    print(
        f"AP {pooled.average_precision():.3f}, best plain threshold {best:.3f} (F1 {best_f1:.3f})", flush=True
    )

    # The damaged input's and the true mask's PSNR do not depend on the rule: computed once per sample.
    baseline = [{} if args.no_repair else repair_scores(c, d, t, {}, "cpu") for _k, c, d, t, _l, _s in data]
    results = {}
    for rule in [shipped_rule, *[r for r in rules if r != shipped_rule]]:
        missed = {k: 0 for k in KINDS}
        total = {k: 0 for k in KINDS}
        missed_sse = {k: 0.0 for k in KINDS}
        hits = proposed = actual = 0
        psnrs = []
        for (_key, clean, damaged, truth, label, score), base in zip(data, baseline):
            mask = rule_mask(score, *rule)
            err = ((damaged - clean) * 255.0) ** 2
            err = err.sum(axis=-1) if err.ndim == 3 else err
            for index, kind in enumerate(KINDS):
                here = label == index
                total[kind] += int(here.sum())
                missed[kind] += int((here & ~mask).sum())
                missed_sse[kind] += float(err[here & ~mask].sum())
            hits += int((mask & truth).sum())
            proposed += int(mask.sum())
            actual += int(truth.sum())
            if not args.no_repair:
                rule_psnr = repair_scores(clean, damaged, truth, {"rule": mask}, "cpu", with_truth=False)
                psnrs.append(base | rule_psnr)
            else:
                psnrs.append({"rule": np.nan, "true mask": np.nan, "damaged": np.nan})
        entry = {
            "F1": 2 * hits / max(proposed + actual, 1),
            "precision": hits / max(proposed, 1),
            "recall": hits / max(actual, 1),
            "PSNR rule": float(np.mean([r["rule"] for r in psnrs])),
            "PSNR true mask": float(np.mean([r["true mask"] for r in psnrs])),
            "PSNR damaged": float(np.mean([r["damaged"] for r in psnrs])),
            "missed share": {k: round(missed[k] / max(total[k], 1), 3) for k in KINDS},
            "missed SSE share": {
                k: round(missed_sse[k] / max(sum(missed_sse.values()), 1e-9), 3) for k in KINDS
            },
        }
        results[str(rule)] = entry
        print(rule, json.dumps(entry), flush=True)

    if not (args.no_repair or args.no_split):
        results["split"] = split_loss(data, shipped_rule)
        print("split of the shipped rule's loss", results["split"], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def split_loss(data, rule) -> dict[str, float]:
    """What `rule` loses by missing (repair on proposal ∩ truth) and by over-marking (proposal ∪ truth)."""
    split = {"missing only": [], "over-marking only": []}
    for _key, clean, damaged, truth, _label, score in data:
        mask = rule_mask(score, *rule)
        both = repair_scores(clean, damaged, truth, {"and": mask & truth, "or": mask | truth}, "cpu")
        split["missing only"].append(both["and"])
        split["over-marking only"].append(both["or"])
    return {k: float(np.mean(v)) for k, v in split.items()}


if __name__ == "__main__":
    main()
