"""The spectrogram brush without Qt.

Painting follows napari's labels layer: a disk is stamped at each mouse position and the segment
between successive positions is filled, so a fast drag leaves no holes; one drag is one stroke.
"""

from __future__ import annotations

import numpy as np

from core.audio.selection import TFMask


class BrushMask:
    """A painted time-frequency mask on a fixed grid: `step` samples per column from `start`,
    `rows` rows from 0 Hz to `max_hz`."""

    def __init__(self, start: int, step: int, columns: int, rows: int, max_hz: float):
        self.start, self.step, self.max_hz = int(start), max(1, int(step)), float(max_hz)
        self.mask = np.zeros((rows, max(1, columns)), bool)
        self._last: tuple[float, float] | None = None

    def cell(self, sample: float, hz: float) -> tuple[float, float]:
        rows = self.mask.shape[0]
        return (hz / self.max_hz * (rows - 1), (sample - self.start) / self.step)

    def stamp(self, sample: float, hz: float, radius_cells: float, continue_stroke: bool = True) -> None:
        """Paint a disk (radius in grid cells) and the segment from the previous point of the stroke."""
        point = self.cell(sample, hz)
        points = [point]
        if continue_stroke and self._last is not None:
            distance = max(abs(point[0] - self._last[0]), abs(point[1] - self._last[1]))
            steps = int(np.ceil(distance / max(radius_cells / 2, 0.5)))
            (y0, x0), (y1, x1) = self._last, point
            points = [(y0 + (y1 - y0) * t, x0 + (x1 - x0) * t) for t in np.linspace(0, 1, steps + 1)]
        rows, cols = self.mask.shape
        r = max(radius_cells, 0.5)
        for cy, cx in points:
            y0, y1 = int(max(0, np.floor(cy - r))), int(min(rows, np.ceil(cy + r) + 1))
            x0, x1 = int(max(0, np.floor(cx - r))), int(min(cols, np.ceil(cx + r) + 1))
            if y0 >= y1 or x0 >= x1:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1]
            self.mask[y0:y1, x0:x1] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        self._last = point

    def end_stroke(self) -> None:
        self._last = None

    def selection(self, channels: tuple[int, ...] | None = None) -> TFMask | None:
        if not self.mask.any():
            return None
        return TFMask(self.mask.copy(), self.start, self.step, self.max_hz, channels)
