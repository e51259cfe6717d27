"""What a person selected as damaged: a time span, a time-frequency rectangle or a painted T-F mask.

Positions are in samples of the document, frequencies in Hz, so a selection does not depend on the
spectrogram it was drawn on. Each selection can say which bins of *any* STFT grid it covers
(`bins`), which is how a method working on its own grid (another FFT size, another rate) sees it.

A time span means the samples are lost (a dropout): every frame whose window touches it is unknown.
A T-F selection means the samples are there but some bins are spoiled (a click, a cough, a whistle):
only those bins are replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import MethodError


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in a 1-D array (lost samples or packets, quiet frames)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(flags, np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _touching(centres: np.ndarray, half_window: float, start: float, stop: float) -> np.ndarray:
    """Frames (centred at `centres`, in samples) whose window overlaps samples [start, stop)."""
    return (centres - half_window < stop) & (centres + half_window > start)


def _band(freqs: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Bins whose band (centre +- half a bin) overlaps [low_hz, high_hz]."""
    half_bin = (freqs[1] - freqs[0]) / 2 if len(freqs) > 1 else 0.0
    return (freqs + half_bin > low_hz) & (freqs - half_bin < high_hz)


@dataclass(frozen=True)
class TimeSpan:
    """Samples [start, stop) are missing or ruined, at every frequency."""

    start: int
    stop: int
    channels: tuple[int, ...] | None = None  # None: every channel

    kind = "time"

    @property
    def span(self) -> tuple[int, int]:
        return int(self.start), int(self.stop)

    def bins(self, freqs: np.ndarray, centres: np.ndarray, half_window: float) -> np.ndarray:
        """(len(freqs), len(centres)) bool: the STFT bins this selection spoils, on any grid.

        freqs: bin centres in Hz; centres: frame centres in samples of the recording; half_window:
        half the analysis window in samples of the recording.
        """
        touched = _touching(centres, half_window, self.start, self.stop)
        return np.broadcast_to(touched, (len(freqs), len(centres))).copy()

    def shifted(self, delta: int) -> TimeSpan:
        return TimeSpan(self.start + delta, self.stop + delta, self.channels)


@dataclass(frozen=True)
class TFRect:
    """Bins between low_hz and high_hz during samples [start, stop) are spoiled."""

    start: int
    stop: int
    low_hz: float
    high_hz: float
    channels: tuple[int, ...] | None = None

    kind = "tf"

    @property
    def span(self) -> tuple[int, int]:
        return int(self.start), int(self.stop)

    def bins(self, freqs: np.ndarray, centres: np.ndarray, half_window: float) -> np.ndarray:
        touched = _touching(centres, half_window, self.start, self.stop)
        return _band(freqs, self.low_hz, self.high_hz)[:, None] & touched[None, :]

    def shifted(self, delta: int) -> TFRect:
        return TFRect(self.start + delta, self.stop + delta, self.low_hz, self.high_hz, self.channels)


@dataclass(frozen=True, eq=False)
class TFMask:
    """A painted mask on a spectrogram grid: `mask[row, column]`, rows linear from 0 Hz to `max_hz`,
    column j covering samples [start + j * step, start + (j + 1) * step)."""

    mask: np.ndarray
    start: int
    step: int
    max_hz: float
    channels: tuple[int, ...] | None = None
    _bounds: tuple[int, int] = field(init=False, repr=False)

    kind = "tf"

    def __post_init__(self) -> None:
        mask = np.asarray(self.mask, bool)
        if mask.ndim != 2:
            raise MethodError(f"a painted selection must be a 2-D mask, not shape {mask.shape}")
        object.__setattr__(self, "mask", mask)
        cols = np.flatnonzero(mask.any(axis=0))
        if cols.size == 0:
            bounds = (int(self.start), int(self.start))
        else:
            bounds = (int(self.start + cols[0] * self.step), int(self.start + (cols[-1] + 1) * self.step))
        object.__setattr__(self, "_bounds", bounds)

    @property
    def span(self) -> tuple[int, int]:
        return self._bounds

    def bins(self, freqs: np.ndarray, centres: np.ndarray, half_window: float) -> np.ndarray:
        rows, cols = self.mask.shape
        # Painted columns each frame's window overlaps; column j covers [start + j step, +step).
        c0 = np.clip(np.floor((centres - half_window - self.start) / self.step).astype(int), 0, cols)
        c1 = np.clip(np.ceil((centres + half_window - self.start) / self.step).astype(int), 0, cols)
        csum = np.concatenate([np.zeros((rows, 1), int), np.cumsum(self.mask, axis=1)], axis=1)
        per_frame = (csum[:, c1] - csum[:, c0]) > 0  # (rows, frames)
        # Painted rows (row r covers r * row_hz +- row_hz / 2) overlapping each bin's band.
        half_bin = (freqs[1] - freqs[0]) / 2 if len(freqs) > 1 else 0.0
        row_hz = self.max_hz / max(rows - 1, 1)
        r0 = np.clip(np.floor((freqs - half_bin) / row_hz - 0.5).astype(int) + 1, 0, rows)
        r1 = np.maximum(np.clip(np.ceil((freqs + half_bin) / row_hz + 0.5).astype(int), 0, rows), r0)
        rsum = np.concatenate([np.zeros((1, len(centres)), int), np.cumsum(per_frame, axis=0)], axis=0)
        return (rsum[r1] - rsum[r0]) > 0

    def shifted(self, delta: int) -> TFMask:
        return TFMask(self.mask, self.start + delta, self.step, self.max_hz, self.channels)


Selection = TimeSpan | TFRect | TFMask


def as_selections(selection, length: int, channels: int) -> list[Selection]:
    """Check one selection or a sequence of them against a recording; clear errors for empty ones."""
    if selection is None:
        raise MethodError("nothing is selected: select the damaged part of the recording first")
    items: Sequence = (
        [selection] if isinstance(selection, TimeSpan | TFRect | TFMask) else list(_iter(selection))
    )
    if not items:
        raise MethodError("nothing is selected: select the damaged part of the recording first")
    checked = []
    for item in items:
        if not isinstance(item, TimeSpan | TFRect | TFMask):
            raise MethodError(f"an audio selection must be a TimeSpan, TFRect or TFMask, not {item!r}")
        start, stop = item.span
        if stop <= start:
            raise MethodError(f"the selection is empty ({start}..{stop}): select at least one sample")
        if stop <= 0 or start >= length:
            raise MethodError(
                f"the selection {start}..{stop} lies outside the recording (0..{length} samples)"
            )
        if isinstance(item, TFRect) and item.high_hz <= item.low_hz:
            raise MethodError(f"the selection's band {item.low_hz:.0f}-{item.high_hz:.0f} Hz is empty")
        if item.channels is not None:
            bad = [c for c in item.channels if not 0 <= c < channels]
            if bad or not item.channels:
                names = list(item.channels)
                raise MethodError(f"the selection names channels {names}; the file has {channels}")
        checked.append(item)
    return checked


def lost_samples(selections: Sequence[Selection], length: int, channels: int, method: str) -> np.ndarray:
    """(channels, length) bool: the samples the time spans of checked `selections` mark as lost, for the
    methods that fill lost samples from the waveform (a T-F selection is an error naming `method`)."""
    lost = np.zeros((channels, length), bool)
    for sel in selections:
        if sel.kind != "time":
            raise MethodError(
                f"{method} fills lost samples (time spans); a frequency band is for fill-gap-learned"
            )
        chans = list(sel.channels) if sel.channels is not None else list(range(channels))
        a, b = max(sel.span[0], 0), min(sel.span[1], length)
        lost[chans, a:b] = True
    return lost


def _iter(selection) -> Iterable:
    try:
        return iter(selection)
    except TypeError as exc:
        raise MethodError(f"an audio selection must be a TimeSpan, TFRect or TFMask: {selection!r}") from exc


def format_band(low_hz: float, high_hz: float) -> str:
    """'300–3400 Hz' (one unit for both ends, Hz below 10 kHz)."""
    if high_hz < 10_000:
        return f"{low_hz:.0f}–{high_hz:.0f} Hz"
    return f"{low_hz / 1000:.2f}–{high_hz / 1000:.2f} kHz"


def selection_band(selection) -> tuple[float, float] | None:
    """(low, high) Hz of a time-frequency selection; None for a time span (every frequency)."""
    if isinstance(selection, TFRect):
        return selection.low_hz, selection.high_hz
    if isinstance(selection, TFMask):
        rows = np.flatnonzero(selection.mask.any(axis=1))
        row_hz = selection.max_hz / max(selection.mask.shape[0] - 1, 1)
        return float(rows[0] * row_hz), float(rows[-1] * row_hz)
    return None


def describe_selection(selection, rate: int) -> str:
    """'0.520–1.300 s (780 ms), 300–3400 Hz': the span, and the band of a time-frequency selection."""
    a, b = selection.span
    text = f"{a / rate:.3f}–{b / rate:.3f} s ({(b - a) / rate * 1000:.0f} ms)"
    band = selection_band(selection)
    return f"{text}, {format_band(*band)}" if band is not None else text


def describe_bands(selections: Sequence, rate: int, shown: int = 3) -> str:
    """What a record says of time-frequency selections ("" for time spans only, which the changed
    seconds already list): a fill that replaced one band left the rest of the spectrum as it was."""
    bands = [s for s in selections if selection_band(s) is not None]
    if not bands:
        return ""
    listed = "; ".join(describe_selection(s, rate) for s in bands[:shown])
    more = f"; and {len(bands) - shown} more" if len(bands) > shown else ""
    return f"frequency bands only: {listed}{more}"
