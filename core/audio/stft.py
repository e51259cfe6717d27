"""Short-time Fourier analysis and synthesis (torch, no torchaudio) with perfect reconstruction.

Framing and overlap-add are done by hand around `torch.fft`. Every audio method uses a
*rate-normalised* frame: a 32 ms periodic Hann window with a hop of a quarter of it, so the bins have
the same width in Hz (~31 Hz) and the frames the same duration (8 ms) at any sample rate. At 16 kHz
this is exactly the grid the learned model was trained on (n_fft 512, hop 128).

The Hann window at 75% overlap satisfies the NOLA condition, so `istft(stft(x))` returns `x` to
rounding error; dividing the overlap-add by the summed squared window makes the pair a least-squares
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
    """(n_fft, hop) for a 32 ms window with 75% overlap at `sample_rate` (n_fft a multiple of 4)."""
    hop = max(4, int(round(FRAME_SECONDS * sample_rate / 4)))
    return 4 * hop, hop


def _window(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    dtype = like.real.dtype if like.is_complex() else like.dtype
    return torch.hann_window(n_fft, periodic=True, dtype=dtype, device=like.device)


def stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Complex STFT (..., n_fft // 2 + 1, frames) of real signals (..., N); frame t is centred on t * hop.

    The signal is zero-padded by half a window at both ends (`torch.stft(center=True,
    pad_mode="constant")` gives the same numbers; framing by hand is several times faster on the CPU).
    """
    padded = torch.nn.functional.pad(x, (n_fft // 2, n_fft // 2))
    frames = padded.unfold(-1, n_fft, hop) * _window(n_fft, x)
    return torch.fft.rfft(frames, dim=-1).transpose(-1, -2)


def istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    """Least-squares inverse of `stft`: windowed overlap-add divided by the summed squared window
    (exact for an unmodified spectrogram)."""
    if n_fft != 4 * hop:
        raise ValueError("istft expects hop = n_fft / 4")
    window = _window(n_fft, spec)
    frames = torch.fft.irfft(spec.transpose(-1, -2), n=n_fft, dim=-1) * window  # (..., T, n)
    count = frames.shape[-2]
    out = frames.new_zeros(*frames.shape[:-2], count + 3, hop)
    for k in range(4):  # quarter k of frame t lands on block t + k
        out[..., k : k + count, :] += frames[..., k * hop : (k + 1) * hop]
    wsum = window.new_zeros(count + 3, hop)
    for k in range(4):
        wsum[k : k + count] += (window[k * hop : (k + 1) * hop] ** 2)[None]
    out = out.flatten(-2)
    wsum = wsum.flatten()
    start = n_fft // 2
    return out[..., start : start + length] / wsum[start : start + length].clamp_min(1e-8)


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


def resample_reach(rate_in: int, rate_out: int) -> int:
    """How many output samples on each side one input sample reaches through `resample`: scipy's
    `resample_poly` filter has a half-length of 10 * max(up, down) taps at the upsampled rate."""
    g = np.gcd(int(rate_in), int(rate_out))
    up, down = int(rate_out) // g, int(rate_in) // g
    return int(np.ceil(10 * max(up, down) / down)) + 1


def resample(x: np.ndarray, rate_in: int, rate_out: int, axis: int = 0) -> np.ndarray:
    """Polyphase resampling (scipy) between integer rates; float32 out."""
    if rate_in == rate_out:
        return np.asarray(x, np.float32)
    g = np.gcd(int(rate_in), int(rate_out))
    return resample_poly(np.asarray(x, np.float64), rate_out // g, rate_in // g, axis=axis).astype(np.float32)
