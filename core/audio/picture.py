"""Spectrogram pictures without matplotlib: dB spectrograms and a perceptual colour map (numpy only).

Used by the benchmark's figure and by the desktop's spectrogram view (which converts the RGB array to
a QImage), so both show the same picture.
"""

from __future__ import annotations

import numpy as np

# Anchor colours of an "inferno"-like map (black -> purple -> red -> orange -> pale yellow).
_ANCHORS = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    np.float64,
)
COLORMAP = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)],
    axis=1,
).astype(np.uint8)


def spectrogram_db(x: np.ndarray, n_fft: int, hop: int | None = None) -> np.ndarray:
    """Power in dB, (n_fft // 2 + 1, frames), of a mono float signal (Hann window, hop n_fft / 4)."""
    import torch

    from core.audio.stft import stft

    hop = hop or n_fft // 4
    signal = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    if signal.numel() == 0:
        return np.full((n_fft // 2 + 1, 0), -120.0, np.float32)
    window_gain = (torch.hann_window(n_fft) ** 2).sum()
    power = stft(signal, n_fft, hop).abs() ** 2 / window_gain
    return (10.0 * torch.log10(power + 1e-12)).numpy().astype(np.float32)


def colorize(db: np.ndarray, top_db: float = 0.0, range_db: float = 90.0) -> np.ndarray:
    """(F, T) dB -> (F, T, 3) uint8 RGB with the lowest frequency at the bottom row."""
    level = np.clip((db - (top_db - range_db)) / max(range_db, 1e-6), 0.0, 1.0)
    return COLORMAP[(level[::-1] * 255).astype(np.uint8)]


def column_spectrogram(x: np.ndarray, centres: np.ndarray, n_fft: int) -> np.ndarray:
    """Power in dBFS (n_fft // 2 + 1, len(centres)) of Hann frames centred on the given samples: a
    full-scale sine on a bin reads 0 dB at its peak, up to 1.4 dB less between bins (the window's
    gain taken out).

    A view of any zoom computes exactly one frame per pixel column, so a ten-minute file costs no more
    to draw than a second of it (zero padding past the ends).
    """
    x = np.asarray(x, np.float32)
    half = n_fft // 2
    centres = np.asarray(centres, np.int64)
    idx = centres[:, None] + np.arange(-half, n_fft - half)[None, :]
    valid = (idx >= 0) & (idx < len(x))
    frames = np.where(valid, x[np.clip(idx, 0, max(len(x) - 1, 0))] if len(x) else 0.0, 0.0)
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    spectrum = np.fft.rfft(frames * window, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2) / float(window.sum() / 2.0) ** 2
    return (10.0 * np.log10(power + 1e-12)).T.astype(np.float32)
