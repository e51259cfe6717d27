"""The spectrogram's frequency scales (linear, log, mel) without Qt: where a frequency sits on screen.

A scale maps Hz to a height fraction (0 at the bottom, 1 at Nyquist at the top) and back, so every
place that turns a pointer into Hz or Hz into a pixel row (the picture, the rectangle and brush
tools, the selections drawn over it, the axis labels) goes through the same rule. Selections are
stored in Hz, never in screen rows, so they stay where they belong when the scale changes.

Mel is `core.audio.mel`'s HTK formula; log starts at `LOG_FLOOR_HZ` (lower frequencies
share the bottom row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.audio.mel import hz_to_mel, mel_to_hz

SCALES = ("linear", "log", "mel")
LOG_FLOOR_HZ = 20.0


def format_hz(hz: float) -> str:
    """'300 Hz', '3.4 kHz', '12 kHz'."""
    if hz < 1000:
        return f"{hz:.0f} Hz"
    return f"{hz / 1000:.1f}".rstrip("0").rstrip(".") + " kHz"


@dataclass(frozen=True)
class FrequencyScale:
    kind: str = "linear"
    nyquist: float = 1.0

    def __post_init__(self):
        if self.kind not in SCALES:
            raise ValueError(f"unknown frequency scale {self.kind!r}; scales: {', '.join(SCALES)}")

    def _warp(self, hz):
        hz = np.clip(np.asarray(hz, np.float64), 0.0, self.nyquist)
        if self.kind == "log":
            return np.log10(np.maximum(hz, LOG_FLOOR_HZ))
        if self.kind == "mel":
            return hz_to_mel(hz)
        return hz

    def _unwarp(self, value):
        if self.kind == "log":
            return 10.0**value
        if self.kind == "mel":
            return mel_to_hz(value)
        return value

    @property
    def _ends(self) -> tuple[float, float]:
        low = self._warp(0.0)
        return float(low), float(self._warp(self.nyquist))

    def position(self, hz):
        """Height fraction of `hz`: 0 at the bottom edge, 1 at Nyquist (arrays welcome)."""
        low, high = self._ends
        out = (self._warp(hz) - low) / max(high - low, 1e-12)
        return float(out) if np.ndim(out) == 0 else out

    def hz_at(self, fraction):
        """The frequency at a height fraction (0 bottom, 1 top), clipped to [0, Nyquist]."""
        low, high = self._ends
        fraction = np.clip(np.asarray(fraction, np.float64), 0.0, 1.0)
        hz = self._unwarp(low + fraction * (high - low))
        if self.kind == "log":  # the bottom row holds everything under the floor
            hz = np.where(fraction <= 0.0, 0.0, hz)
        hz = np.clip(hz, 0.0, self.nyquist)
        return float(hz) if np.ndim(hz) == 0 else hz

    def row_frequencies(self, rows: int) -> np.ndarray:
        """Hz at the centre of each of `rows` screen rows, top row first."""
        fractions = 1.0 - (np.arange(rows) + 0.5) / rows
        return np.asarray(self.hz_at(fractions), np.float64)

    def remap(self, linear: np.ndarray, rows: int) -> np.ndarray:
        """(F, T) values on F linearly spaced bins from 0 Hz to Nyquist (lowest first) -> (rows, T)
        on this scale, top row first (linear interpolation between bins)."""
        bins = linear.shape[0]
        index = self.row_frequencies(rows) / self.nyquist * (bins - 1)
        low = np.clip(np.floor(index).astype(np.int64), 0, bins - 1)
        high = np.minimum(low + 1, bins - 1)
        weight = (index - low)[:, None].astype(linear.dtype)
        return linear[low] * (1 - weight) + linear[high] * weight

    def ticks(self, height: float, min_gap_px: float = 32.0) -> list[tuple[float, str]]:
        """(Hz, label) of the axis marks, at least `min_gap_px` apart on a `height`-pixel axis."""
        if self.kind == "linear":
            steps = [m * 10**e for e in range(1, 6) for m in (1, 2, 5)]
            step = next((s for s in steps if s / self.nyquist * height >= min_gap_px), steps[-1])
            values = np.arange(0.0, self.nyquist + 1e-9, step)
            return [(float(v), format_hz(v)) for v in values if height - self.position(v) * height >= 8]
        # Log and mel: round numbers by priority (1, then 2 and 5, then the other digits of each decade),
        # each kept when it is far enough from the marks already placed.
        tiers = [(1,), (2, 5), (3, 4, 6, 7, 8, 9), (1.5, 2.5)]
        chosen: list[float] = [] if self.kind == "log" else [0.0]
        for tier in tiers:
            for e in range(1, 6):
                for m in tier:
                    hz = m * 10**e
                    if hz > self.nyquist or (self.kind == "log" and hz < LOG_FLOOR_HZ):
                        continue
                    y = self.position(hz) * height
                    if height - y < 8:  # under the top edge: no room for its label
                        continue
                    if all(abs(y - self.position(c) * height) >= min_gap_px for c in chosen):
                        chosen.append(float(hz))
        return [(hz, format_hz(hz)) for hz in sorted(chosen)]
