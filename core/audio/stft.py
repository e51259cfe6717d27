"""Short-time Fourier analysis and synthesis (torch, no torchaudio) with perfect reconstruction.

Every audio method uses a *rate-normalised* frame: a 32 ms periodic Hann window with a hop of a quarter
of it, so the bins have the same width in Hz (~31 Hz) and the frames the same duration (8 ms) at any
sample rate. At 16 kHz this is exactly the grid the learned model was trained on (n_fft 512, hop 128).

The Hann window at 75% overlap satisfies the NOLA condition, so `istft(stft(x))` returns `x` to
rounding error; `torch.istft` divides by the summed squared window, which makes the pair a least-squares
inverse for modified spectrograms as well (Griffin & Lim 1984).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import resample_poly

FRAME_SECONDS = 0.032
LOG_FLOOR = 1e-4  # magnitude floor of the log spectrogram (about -120 dB below a full-scale sine)
MODEL_RATE = 16000  # the learned model's working rate; lower rates are upsampled to it


def frame_params(sample_rate: int) -> tuple[int, int]:
    """(n_fft, hop) for a 32 ms window with 75% overlap at `sample_rate` (n_fft even)."""
    n_fft = 2 * max(8, int(round(FRAME_SECONDS * sample_rate / 2)))
    return n_fft, n_fft // 4


def _window(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    dtype = like.real.dtype if like.is_complex() else like.dtype
    return torch.hann_window(n_fft, periodic=True, dtype=dtype, device=like.device)


def stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Complex STFT (..., n_fft // 2 + 1, frames) of real signals (..., N); frame t is centred on t * hop."""
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    spec = torch.stft(
        flat,
        n_fft,
        hop_length=hop,
        window=_window(n_fft, flat),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    """Least-squares inverse of `stft` (exact for an unmodified spectrogram)."""
    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    x = torch.istft(flat, n_fft, hop_length=hop, window=_window(n_fft, flat), center=True, length=length)
    return x.reshape(*shape[:-2], length)


def n_frames(length: int, hop: int) -> int:
    return length // hop + 1


def frames_touching(start: int, stop: int, n_fft: int, hop: int, total_frames: int) -> tuple[int, int]:
    """The half-open range of frames whose window overlaps samples [start, stop)."""
    half = n_fft // 2
    first = max(0, -(-(start - half + 1) // hop))  # ceil((start - half + 1) / hop)
    last = min(total_frames, (stop - 1 + half) // hop + 1)
    return first, max(first, last)


def log_magnitude(spec: torch.Tensor) -> torch.Tensor:
    return torch.log(spec.abs() + LOG_FLOOR)


def magnitude_from_log(logmag: torch.Tensor) -> torch.Tensor:
    return (torch.exp(logmag) - LOG_FLOOR).clamp_min(0.0)


def resample(x: np.ndarray, rate_in: int, rate_out: int, axis: int = 0) -> np.ndarray:
    """Polyphase resampling (scipy) between integer rates; float32 out."""
    if rate_in == rate_out:
        return np.asarray(x, np.float32)
    g = np.gcd(int(rate_in), int(rate_out))
    return resample_poly(np.asarray(x, np.float64), rate_out // g, rate_in // g, axis=axis).astype(np.float32)
