"""A deep prior fitted to the clip itself (Ulyanov et al. 2018, on a spectrogram).

An untrained small UNet maps fixed noise to the normalised log-magnitude around the gap and is fitted
to the known bins only; its convolutional structure fills the unknown bins with texture and harmonics
consistent with the context. Nothing is trained beforehand, so it works on any recording.
"""

from __future__ import annotations

from collections.abc import Generator

import torch

from core.audio import specnet
from core.runtime.context import Progress, RunContext

CONTEXT_FRAMES = 32  # 256 ms of context each side of the unknown frames


def dip_fill(
    logmag: torch.Tensor,
    unknown: torch.Tensor,
    ctx: RunContext,
    iterations: int = 300,
    lr: float = 0.01,
    seed: int = 0,
    noise_channels: int = 8,
) -> Generator[Progress, None, torch.Tensor]:
    """Fill the unknown bins of (C, F, T) log-magnitudes; known bins are returned unchanged."""
    from core.archs import build_arch

    frames = torch.nonzero(unknown.any(dim=(0, 1))).flatten()
    if frames.numel() == 0:
        return logmag
    t0 = max(0, int(frames[0]) - CONTEXT_FRAMES)
    t1 = min(logmag.shape[-1], int(frames[-1]) + 1 + CONTEXT_FRAMES)
    crop, hole = logmag[..., t0:t1], unknown[..., t0:t1]
    normed, mean, spread = specnet.normalise(crop, hole)
    known = (~hole).float()
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_arch("spec_unet", in_channels=noise_channels, base=16, depth=4).to(logmag.device)
    channels, bins, width = crop.shape
    z = (0.1 * torch.rand(channels, noise_channels, bins, width, generator=gen)).to(logmag.device)
    optim = torch.optim.Adam(net.parameters(), lr=lr)
    out = None
    for it in range(iterations):
        jitter = (torch.randn(z.shape, generator=gen) / 30.0).to(z.device)
        out = net(z + jitter)[:, 0]
        loss = ((out - normed).abs() * known).sum() / known.sum().clamp_min(1.0)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if it % 10 == 0 or it + 1 == iterations:
            yield ctx.progress((it + 1) / iterations, f"deep prior: iteration {it + 1}/{iterations}")
    with torch.no_grad():
        out = net(z)[:, 0] * spread + mean
    filled = logmag.clone()
    filled[..., t0:t1] = torch.where(hole, out, crop)
    return filled
