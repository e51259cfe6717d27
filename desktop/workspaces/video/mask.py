"""The video workspace's mask: one (H, W) alpha for the frames it applies to (the range, else the
current frame), painted with the brush, rubbed with the eraser or proposed by Detect damage.

Every change is one `MaskChange` in the session's history; a stroke changes the mask live and is
recorded once, when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class MaskChange:
    before: np.ndarray | None  # uint8 (H, W), 255 = repair; None = no mask
    after: np.ndarray | None
    swept: np.ndarray | None = None  # a stroke's path (bool), undone and redone with the change
    threshold: float | None = None  # a detection's step: the sensitivity it shows
    erased: bool = True  # whether `swept` is an eraser's path (else a brush's)

    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in (self.before, self.after, self.swept) if m is not None)


class Stroke:
    """A brush or eraser stroke on a copy of the mask: round dabs joined by thick lines."""

    def __init__(self, mask: np.ndarray, x: float, y: float, radius: int, erase: bool):
        self.mask = mask.copy()
        self.value = 0 if erase else 255
        # Where the stroke passed, also where the mask already held what it paints: a detection's
        # slider keeps an eraser's path clear and a brush's painted.
        self.swept = np.zeros(mask.shape, np.uint8)
        self.radius = max(int(radius), 1)
        self.last = (int(round(x)), int(round(y)))
        self._dab(self.last)

    def to(self, x: float, y: float) -> None:
        here = (int(round(x)), int(round(y)))
        for layer, value in self._layers():
            cv2.line(layer, self.last, here, value, 2 * self.radius)
        self._dab(here)
        self.last = here

    def _dab(self, at: tuple[int, int]) -> None:
        for layer, value in self._layers():
            cv2.circle(layer, at, self.radius, value, -1)

    def _layers(self) -> list[tuple[np.ndarray, int]]:
        return [(self.mask, self.value), (self.swept, 255)]
