"""Does detecting again on the repaired picture find what the first pass missed? (HELD-OUT TRAINING images)

    OMP_NUM_THREADS=1 python scripts/detect_second_pass.py

The images and seeds of scripts/detect_repair_rule.py. Pass 1: the default repair mask, filled by
learned inpainting. Pass 2: the detector on that repair; its repair mask joined with the first
("union", filled from the damaged picture) or filled on the repair ("seq"). Prints PSNR per image and
the means, with the true mask's. Session 26's finding (docs/benchmarks.md): +0.16 dB, for twice the time.
"""

from __future__ import annotations

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

RULE = (0.35, 0.3, 3, 2000, 0)  # the default repair rule, as detect_repair_rule.py takes it


def fill(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    doc = ImageDoc(pixels=(picture * 255.0)[None].astype(np.float32), dtype="uint8")
    ctx = RunContext(device="cpu")
    return run_repair(doc, "inpaint", method="inpaint-learned", mask=mask, ctx=ctx).pixels[0] / 255.0


def main() -> None:
    scores: dict[str, list[float]] = {}
    added = damaged_added = 0
    for key, clean, damaged, truth, _label in samples(8, 2, False):
        first = rule_mask(detect_image(damaged, coarse=True).score[0], *RULE)
        repaired = np.round(fill(damaged, first) * 255.0) / 255.0
        second = rule_mask(detect_image(repaired, coarse=True).score[0], *RULE)
        results = {
            "pass1": repaired,
            "union": fill(damaged, first | second),
            "seq": fill(repaired, second) if second.any() else repaired,
            "true": fill(damaged, truth),
        }
        for name, out in results.items():
            scores.setdefault(name, []).append(psnr(np.round(out * 255.0), clean * 255.0))
        added += int((second & ~first).sum())
        damaged_added += int((second & ~first & truth).sum())
        print(key, {k: round(v[-1], 2) for k, v in scores.items()}, flush=True)
    print(json.dumps({k: round(float(np.mean(v)), 3) for k, v in scores.items()}))
    print(f"pass 2 adds {added} pixels, {damaged_added / max(added, 1):.0%} of them damaged")


if __name__ == "__main__":
    main()
