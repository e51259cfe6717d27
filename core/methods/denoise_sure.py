"""Zero-shot denoising by Stein's unbiased risk estimate (SURE): a network fitted to one image.

For Gaussian noise y = x + n, n ~ N(0, σ²), SURE gives the mean squared error of any denoiser f
against the *unseen* clean image from the noisy one alone:

    SURE(f) = |y - f(y)|² / N - σ² + 2σ²/N · div f(y)

and the divergence is estimated by a Monte-Carlo finite difference, b · (f(y + εb) - f(y)) / ε with
fresh b ~ N(0, 1) each step (Ramani et al. 2008). Minimising it over a network's weights trains a
denoiser on the image itself, no weights and no clean data needed (Soltanayev & Chun 2018).

The network here starts from non-local means: it sees the noisy image and the non-local-means
result, and learns a correction to the latter, initialised to zero. So the fit begins at the
classical result and moves only where the estimated error goes down: a per-image learned refinement
that lends the network the patch statistics of the whole image. The non-local means of a perturbed
crop is recomputed every step, so the divergence counts how the pilot moves too.

Training uses random crops, so its cost does not grow with the image; the fitted network then runs
over the whole image in tiles. The method assumes white Gaussian-like noise of a known or estimated
σ; for other noise, `denoise-zs-n2n` assumes only that neighbouring pixels' noise is independent.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.methods.denoise import (
    NLM_MARGIN,
    SIGMA,
    join_alpha,
    nl_means,
    nl_means_strips,
    sigma_or_estimate,
    split_alpha,
)
from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

NLM_STRENGTH = 0.6  # the same filter as the denoise-nlmeans method's default
EPSILON = 0.01  # finite-difference step, as a fraction of σ
SILENT = 1e-4  # below this σ (in [0, 1] units) there is nothing to remove


def correction_network(channels: int, width: int, depth: int):
    """(noisy, pilot) -> pilot + correction; the last layer starts at zero, so it starts as the pilot."""
    import torch
    from torch import nn

    class PilotCorrection(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Conv2d(2 * channels, width, 3, padding=1), nn.ReLU(inplace=True)]
            for _ in range(depth - 2):
                layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
            last = nn.Conv2d(width, channels, 3, padding=1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.body = nn.Sequential(*layers, last)

        def forward(self, noisy, pilot):
            return pilot + self.body(torch.cat([noisy, pilot], dim=1))

    return PilotCorrection()


def sure_loss(noisy, denoised, probe, denoised_probed, level: float, epsilon: float):
    """Monte-Carlo SURE of a batch, in squared [0, 1] units per value (the estimate of its MSE).

    `denoised_probed` is the denoiser's output for noisy + epsilon * probe.
    """
    count = noisy.numel()
    divergence = (probe * (denoised_probed - denoised)).sum() / epsilon
    return ((noisy - denoised) ** 2).sum() / count - level**2 + 2.0 * level**2 * divergence / count


def _to_tensor(array: np.ndarray, device):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))[None].to(device)


def _run_sure(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    sigma: float | None = 0.0,
    iterations: int = 200,
    crop: int = 96,
    batch: int = 4,
    width: int = 48,
) -> Generator[Progress, None, np.ndarray]:
    import torch

    from core.runtime.tiling import run_tiled

    color, alpha = split_alpha(image)
    channels = color.shape[2]
    height, width_px = color.shape[:2]
    yield ctx.progress(0.0, "estimating the noise level" if not sigma else "preparing")
    level = sigma_or_estimate(color, sigma, ctx) / 255.0
    if level < SILENT:
        yield ctx.progress(1.0, "no noise found: the image is returned unchanged")
        return join_alpha(color, alpha)
    epsilon = EPSILON * level
    # Reflect-padding once, and computing every non-local means on padded regions, makes the pilot
    # of a crop exactly the crop of the whole pilot (the divergence must see one and the same f).
    m = NLM_MARGIN
    padded = np.pad(color, ((m, m), (m, m), (0, 0)), mode="symmetric")
    pilot = yield from nl_means_strips(padded, level, NLM_STRENGTH, ctx.sub(0.0, 0.1))
    pilot = pilot[m:-m, m:-m]

    device = ctx.torch_device()
    rng = np.random.default_rng(ctx.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        net = correction_network(channels, width, depth=5).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(iterations, 1))
    side_h, side_w = min(crop, height), min(crop, width_px)
    fit = ctx.sub(0.1, 0.9)
    for it in range(iterations):
        crops = {"noisy": [], "pilot": [], "probe": [], "probed": [], "probed_pilot": []}
        for _ in range(batch):
            top = int(rng.integers(height - side_h + 1))
            left = int(rng.integers(width_px - side_w + 1))
            region = padded[top : top + side_h + 2 * m, left : left + side_w + 2 * m]
            probe = rng.standard_normal(region.shape).astype(np.float32)
            probed = region + epsilon * probe
            crops["noisy"].append(color[top : top + side_h, left : left + side_w])
            crops["pilot"].append(pilot[top : top + side_h, left : left + side_w])
            crops["probe"].append(probe[m:-m, m:-m])
            crops["probed"].append(probed[m:-m, m:-m])
            crops["probed_pilot"].append(nl_means(probed, level, NLM_STRENGTH)[m:-m, m:-m])
        t = {k: torch.cat([_to_tensor(a, device) for a in v]) for k, v in crops.items()}
        denoised = net(t["noisy"], t["pilot"])
        denoised_probed = net(t["probed"], t["probed_pilot"])
        loss = sure_loss(t["noisy"], denoised, t["probe"], denoised_probed, level, epsilon)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        yield fit.progress((it + 1) / iterations, f"learning from the image: step {it + 1}/{iterations}")

    net.eval()
    on_device = {device: net}

    def apply(tile):
        if tile.device not in on_device:  # after an out-of-memory fall-back to the CPU
            on_device[tile.device] = _copy_to(net, tile.device)
        return on_device[tile.device](tile[:, :channels], tile[:, channels:])

    both = np.concatenate([color, pilot], axis=2)
    # Five 3×3 layers see 5 pixels each way: a 16-pixel overlap makes tiling exact.
    result = yield from run_tiled(apply, both, ctx.sub(0.9, 1.0), overlap=16, message="denoising tile")
    return join_alpha(result, alpha)


def _copy_to(net, device):
    import copy

    return copy.deepcopy(net).to(device)


register(
    MethodCard(
        id="denoise-zero-shot",
        task="denoise",
        name="Zero-shot denoiser (SURE)",
        kind="zero-shot",
        description="Fits a small network to this image alone, refining non-local means: no weights; "
        "for Gaussian-like noise; a minute or two on a CPU.",
        params=(
            SIGMA,
            Param("iterations", 200, "fitting steps on random crops of the image", minimum=1, maximum=20000),
            Param("crop", 96, "side of the random crops fitted each step", minimum=16, maximum=1024),
            Param("batch", 4, "crops per step", minimum=1, maximum=64),
            Param("width", 48, "channels of the network", minimum=8, maximum=256),
        ),
        speed="slow",
    ),
    _run_sure,
)
