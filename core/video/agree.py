"""Keep what a frame rebuilt in place can keep: the parts of the frame as decoded that agree with the
rebuilt picture.

A damaged packet breaks some blocks of a frame, and a frame the scan doubts wrongly is not broken at all;
the rest of the frame as decoded is truer than any interpolation, which in fast motion warps and smears
(walk-through 42: two lightly damaged frames of a fast pan at 31.9 and 25.8 dB against the clean decode
became 18.6 and 18.7 dB). So a rebuilt frame takes the decoded frame wherever the two agree, block by
block, and the rebuilt picture where they do not and a little around it. Where they agree the decoded
frame is at most the tolerance further from the truth than the rebuilt one, so keeping it costs little
and restores the detail interpolation loses; where the decoded frame is broken they disagree.
Chosen on the training clips (scripts/fill_frames_keep.py, docs/benchmarks.md).
"""

from __future__ import annotations

import cv2
import numpy as np

BLOCK = 16  # px: the side of the square over which agreement is judged (a codec's macroblock)
AGREE = 4.0  # grey levels of mean absolute difference over a block: below it the decoded frame is kept
DISAGREE = 8.0  # above it the rebuilt frame is shown (in between, a mix)
MARGIN = 8  # px of rebuilt picture around every disagreeing place (a broken block's ragged edge)
FEATHER = 4.0  # px: the seam between the two is blurred over about this far


def kept_share(shown: np.ndarray, rebuilt: np.ndarray) -> np.ndarray:
    """How much of the decoded frame to keep, per pixel (H, W) float32 in [0, 1]."""
    difference = np.abs(shown.astype(np.float32) - rebuilt.astype(np.float32))
    if difference.ndim == 3:
        difference = difference.mean(axis=-1)
    local = cv2.boxFilter(difference, -1, (BLOCK, BLOCK))
    keep = np.clip((DISAGREE - local) / (DISAGREE - AGREE), 0.0, 1.0).astype(np.float32)
    keep = cv2.erode(keep, np.ones((2 * MARGIN + 1, 2 * MARGIN + 1), np.uint8))
    return cv2.GaussianBlur(keep, (0, 0), FEATHER)


def keep_agreeing(shown: np.ndarray, rebuilt: np.ndarray) -> np.ndarray:
    """The rebuilt frame (uint8) with the decoded frame `shown` kept wherever the two agree."""
    if shown.shape != rebuilt.shape:
        return rebuilt
    keep = kept_share(shown, rebuilt)
    if rebuilt.ndim == 3:
        keep = keep[..., None]
    mixed = keep * shown.astype(np.float32) + (1.0 - keep) * rebuilt.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
