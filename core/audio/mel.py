"""The mel scale (HTK formula, 2595 log10(1 + f / 700)) and triangular mel filters on STFT bins.

One rule for every place that speaks mel: the audio view's frequency axis and the log-mel training
loss of the speech concealment (close to what a recogniser's filterbank sees)."""

from __future__ import annotations

import numpy as np


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def mel_filters(
    bands: int, n_fft: int, rate: int, low_hz: float = 0.0, high_hz: float | None = None
) -> np.ndarray:
    """(bands, n_fft // 2 + 1) triangular filters, evenly spaced in mel between low_hz and high_hz
    (default Nyquist), each peaking at 1."""
    high_hz = rate / 2 if high_hz is None else high_hz
    edges = mel_to_hz(np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), bands + 2))
    bins = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)
