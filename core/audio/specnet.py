"""The learned model's input and output conventions, shared by training and inference.

The network sees the log-magnitude normalised by the mean and spread of the *known* bins (so the
recording's level does not matter) with the unknown bins zeroed, plus the unknown-bin mask.
"""

from __future__ import annotations

import torch


def normalise(logmag: torch.Tensor, unknown: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, F, T) log-magnitudes and bool masks -> (normalised, mean, spread) with (B, 1, 1) statistics."""
    known = (~unknown).to(logmag.dtype)
    count = known.sum(dim=(-2, -1), keepdim=True).clamp_min(1.0)
    mean = (logmag * known).sum(dim=(-2, -1), keepdim=True) / count
    var = (((logmag - mean) * known) ** 2).sum(dim=(-2, -1), keepdim=True) / count
    spread = var.sqrt().clamp_min(0.5)
    return (logmag - mean) / spread, mean, spread


def network_input(normed: torch.Tensor, unknown: torch.Tensor) -> torch.Tensor:
    """(B, 2, F, T): the known bins (unknown ones zeroed) and the mask."""
    mask = unknown.to(normed.dtype)
    return torch.stack([normed * (1.0 - mask), mask], dim=1)


@torch.no_grad()
def predict_logmag(model: torch.nn.Module, logmag: torch.Tensor, unknown: torch.Tensor) -> torch.Tensor:
    """Fill the unknown bins of (B, F, T) log-magnitudes with the network; known bins are kept."""
    normed, mean, spread = normalise(logmag, unknown)
    pred = model(network_input(normed, unknown))[:, 0].float()
    filled = pred * spread + mean
    return torch.where(unknown, filled, logmag)
