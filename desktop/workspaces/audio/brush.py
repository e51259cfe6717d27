"""The spectrogram brush without Qt.

Painting follows napari's labels layer: a disk is stamped at each mouse position and the segment
between successive positions is filled, so a fast drag leaves no holes; one drag is one stroke.
The stroke is painted in screen rows (a disk on screen stays a disk under a log or mel scale) and
becomes a selection on rows linear in Hz, as `TFMask` stores it.
"""

from __future__ import annotations

import numpy as np

from core.audio.selection import TFMask
from desktop.workspaces.audio.freq_scale import FrequencyScale


class BrushMask:
    """A painted time-frequency mask on a fixed grid: `step` samples per column from `start`,
    `rows` screen rows from 0 Hz (row 0) to `max_hz` on `scale` (linear when None)."""

    def __init__(
        self,
        start: int,
        step: int,
        columns: int,
        rows: int,
        max_hz: float,
        scale: FrequencyScale | None = None,
    ):
        self.start, self.step, self.max_hz = int(start), max(1, int(step)), float(max_hz)
        self.scale = scale or FrequencyScale("linear", self.max_hz)
        self.mask = np.zeros((rows, max(1, columns)), bool)
        self._last: tuple[float, float] | None = None

    def cell(self, sample: float, hz: float) -> tuple[float, float]:
        rows = self.mask.shape[0]
        return (self.scale.position(hz) * (rows - 1), (sample - self.start) / self.step)

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
        return TFMask(self.linear_rows(), self.start, self.step, self.max_hz, channels)

    def linear_rows(self) -> np.ndarray:
        """The painted mask on rows linear in Hz (row r at r * max_hz / (rows - 1)): a row is painted
        when any screen row within its half-row band is."""
        rows = self.mask.shape[0]
        if self.scale.kind == "linear":
            return self.mask.copy()
        row_hz = self.max_hz / max(rows - 1, 1)
        centres = np.arange(rows) * row_hz
        lo = np.floor(self.scale.position(np.maximum(centres - row_hz / 2, 0.0)) * (rows - 1) + 0.5)
        hi = np.floor(self.scale.position(centres + row_hz / 2) * (rows - 1) + 0.5)
        lo = np.clip(lo.astype(np.int64), 0, rows - 1)
        hi = np.clip(np.maximum(hi.astype(np.int64), lo), 0, rows - 1)
        painted = np.concatenate([np.zeros((1, self.mask.shape[1]), np.int64), np.cumsum(self.mask, axis=0)])
        return (painted[hi + 1] - painted[lo]) > 0
