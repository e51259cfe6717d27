"""The learned detector's marks on a clip, checked against the neighbouring frames.

Alone, frame by frame, the learned detector proposes some content of a clean clip as damage (a
walk-through: a flower pot on a window sill, the top of a cyclist's head), and a repair of a few
frames then paints it out there and nowhere else, so it blinks. Damage on film and in transmission
is on one frame and not the next; content stays, moved by the motion that optical flow follows. So
each mark (a connected region of the learned scores) keeps its score in proportion to how far its
pixels depart, on average, from both neighbouring frames warped onto it (`classical.departures`):
a mark whose pixels depart by FULL_DEPARTURE or more keeps its score, one that does not depart at
all is dropped. Damage that stays from frame to frame (a line scratch running through a shot) is
dropped too, which the neighbours could not repair anyway; the stuck-pixel and dead-line rules, which
find such damage by its look, are added after this check.

Chosen on the training clips (`video/train`, windows of 8 frames at 10%, 45% and 80% of each clip,
the bench's damage drawn per frame; docs/benchmarks.md): clean frames marked 0.32% -> 0.05%, F1 on
the drawn damage 0.737 -> 0.728.
"""

from __future__ import annotations

import numpy as np

FULL_DEPARTURE = 0.04  # on the 0-1 scale: about 10 levels of 8 bits
MARK_FLOOR = 0.15  # a mark is a region of scores from here up (the proposal's hysteresis floor at 0.5)


def checked_against_neighbours(scores: np.ndarray, departure: np.ndarray) -> np.ndarray:
    """`scores` (F, H, W) with each mark scaled by its mean `departure` (F, H, W) over FULL_DEPARTURE
    (at most 1)."""
    from scipy import ndimage

    checked = np.empty_like(scores, dtype=np.float32)
    for t, (score, away) in enumerate(zip(scores, departure)):
        labels, count = ndimage.label(score >= MARK_FLOOR, np.ones((3, 3)))
        if count == 0:
            checked[t] = score
            continue
        mean_departure = ndimage.mean(away, labels, np.arange(1, count + 1))
        factor = np.concatenate([[1.0], np.clip(np.asarray(mean_departure) / FULL_DEPARTURE, 0.0, 1.0)])
        # The weaker scores around a mark go with it: a higher sensitivity would otherwise find the
        # rim of a dropped mark and propose it in its place (a review).
        nearest = ndimage.distance_transform_edt(labels == 0, return_distances=False, return_indices=True)
        checked[t] = score * factor[labels[tuple(nearest)]]
    return checked
