"""Phase recovery for a spectrogram whose magnitude was filled in, consistent with the context.

Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013) with two constraints from the recording:
the known bins keep their true complex values, and, for a time gap, the known *samples* around it are
put back after every synthesis, so the filled frames are pulled towards phases that continue the
signal on both sides. The iteration starts from the phase of an initial guess (an AR fill of the gap,
coherent with the context near its edges) rather than from noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from core.audio.stft import istft, stft


def griffin_lim(
    magnitude: torch.Tensor,
    known: torch.Tensor,
    unknown: torch.Tensor,
    init: torch.Tensor,
    n_fft: int,
    hop: int,
    iterations: int = 32,
    momentum: float = 0.99,
    signal: torch.Tensor | None = None,
    sample_known: torch.Tensor | None = None,
    on_iteration: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Signals (..., N) whose STFT has `magnitude` on the `unknown` bins and equals `known` elsewhere.

    magnitude, unknown: (..., F, T); known: complex (..., F, T), the true STFT of the recording;
    init: (..., N) initial signal (its phase starts the iteration); signal, sample_known: (..., N),
    the recording and where its samples are trustworthy (a time gap), or None for T-F selections.
    """
    length = init.shape[-1]

    def project(spec: torch.Tensor) -> torch.Tensor:
        """Impose the magnitude on the unknown bins and the truth on the known ones."""
        phase = spec / spec.abs().clamp_min(1e-12)
        return torch.where(unknown, magnitude * phase, known)

    def consistent(spec: torch.Tensor) -> torch.Tensor:
        """Nearest consistent spectrogram, with the known samples put back."""
        x = istft(spec, n_fft, hop, length)
        if signal is not None:
            x = torch.where(sample_known, signal, x)
        return stft(x, n_fft, hop)

    spec = stft(init, n_fft, hop)
    previous = project(spec)
    estimate = previous
    for it in range(iterations):
        current = project(consistent(estimate))
        estimate = current + momentum * (current - previous)
        previous = current
        if on_iteration is not None:
            on_iteration(it)
    x = istft(project(consistent(previous)), n_fft, hop, length)
    if signal is not None:
        x = torch.where(sample_known, signal, x)
    return x
