"""How much of what the repair mask misses lies in marks it found in part, on HELD-OUT TRAINING images.

    OMP_NUM_THREADS=1 python scripts/detect_missed_marks.py

The 16 pictures of `scripts/detect_repair_rule.py` (the last 8 of color432, mixed damage, 2 seeds);
`detect-learned` at its defaults and the shipped repair rule. Every connected mark of each kind (8-
connected pixels that kind shows) is put in a class by how much of it the mask covers; the squared error
the mask leaves (damaged - clean, over the mark's missed pixels) is summed per class, as a share of all
it leaves. A mark found in part is one a rule that follows it (a line's direction, a tear's edge) could
reach; a mark missed whole needs the detector itself to see it.
"""

from __future__ import annotations

import numpy as np
from detect_repair_rule import samples

from core.detect.damage import KINDS
from core.detect.run import REPAIR_RULES, detect_image, repair_mask

CLASSES = ((0.0, 0.1, "under 10%"), (0.1, 0.9, "10-90%"), (0.9, 1.01, "90% and more"))


def main() -> None:
    import cv2

    left = {(kind, name): 0.0 for kind in KINDS for *_, name in CLASSES}
    marks = dict.fromkeys(KINDS, 0)
    for _, clean, damaged, _truth, label in samples(8, 2, False):
        detection = detect_image(damaged)
        mask = repair_mask(detection.score[0], detection.threshold, REPAIR_RULES["detect-learned"])
        error = ((damaged - clean) ** 2).sum(-1)
        for number, kind in enumerate(KINDS):
            count, parts = cv2.connectedComponents((label == number).astype(np.uint8), connectivity=8)
            marks[kind] += count - 1
            for part in range(1, count):
                pixels = parts == part
                covered = mask[pixels].mean()
                name = next(n for lo, hi, n in CLASSES if lo <= covered < hi)
                left[kind, name] += float(error[pixels & ~mask].sum())
    total = sum(left.values())
    print("share of the squared error the repair mask leaves, by kind and by how much of its mark is covered")
    print(f"{'kind':8s} {'marks':>6s} {'all':>6s} " + " ".join(f"{n:>13s}" for *_, n in CLASSES))
    for kind in KINDS:
        shares = [left[kind, n] / total for *_, n in CLASSES]
        print(f"{kind:8s} {marks[kind]:6d} {sum(shares):6.3f} " + " ".join(f"{s:13.3f}" for s in shares))
    print(
        f"{'all':8s} {sum(marks.values()):6d} {1:6.3f} "
        + " ".join(f"{sum(left[k, n] for k in KINDS) / total:13.3f}" for *_, n in CLASSES)
    )


if __name__ == "__main__":
    main()
