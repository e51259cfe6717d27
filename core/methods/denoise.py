"""Denoising methods: a learned residual UNet (default), its fast variant, the scan denoiser (a small
plain network trained on CT and MR noise: the default on those scans), Zero-Shot Noise2Noise and non-local
means.

The SURE-trained zero-shot denoiser, built on non-local means, is in `denoise_sure`.

`sigma` is the noise standard deviation on the 0-255 scale *of the image as the engine hands it to
the method*, that is after normalising the document's value range to [0, 1]: for an 8-bit photo it is
the usual σ; for a 16-bit photo σ=1 means 257 stored units. On scans a person types and reads σ in
the scan's own units (HU for CT) and the engine converts (core.repair.units). 0 means "estimate it
from the image"; the σ used is recorded either way.

RGBA and gray+alpha images are denoised on their color channels; alpha is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

SIGMA = Param(
    "sigma",
    0.0,
    "noise level σ (photos: 0-255 scale; scans: their own units, HU for CT); 0 = estimate it",
    minimum=0.0,
    maximum=100.0,
    intensity=True,
    zero_means="estimate",
)
GRAY_WEIGHTS = "denoise-gray.safetensors"
COLOR_WEIGHTS = "denoise-color.safetensors"
FAST_WEIGHTS = "denoise-fast-gray.safetensors"  # distilled from GRAY_WEIGHTS; color: plane by plane
SCAN_WEIGHTS = "denoise-scan.safetensors"  # a plain fast denoiser fine-tuned on CT and MR noise (its card)
STRIP_PIXELS = 1 << 19  # non-local means works on strips of about this many pixels (cancel latency)


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(color planes, alpha or None): 2 channels are gray + alpha, 4 are RGB + alpha."""
    if image.shape[2] in (2, 4):
        return image[..., :-1], image[..., -1:]
    return image, None


def join_alpha(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    color = np.clip(color, 0.0, 1.0).astype(np.float32, copy=False)
    return color if alpha is None else np.concatenate([color, alpha], axis=2)


def sigma_or_estimate(color: np.ndarray, sigma: float | None, ctx: RunContext) -> float:
    """The σ to use (0-255 scale): the one given or estimated from the image; recorded in `ctx`."""
    if sigma:
        level = float(sigma)
    else:
        from core.methods.noise_level import estimate_sigma_255

        level = estimate_sigma_255(color)
    ctx.record_used("sigma", level)
    return level


# --- learned -----------------------------------------------------------------------------------------


def _run_learned(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    sigma: float | None = 0.0,
    ensemble: bool = False,
) -> Generator[Progress, None, np.ndarray]:
    return (yield from _denoise(image, ctx, sigma, ensemble, GRAY_WEIGHTS, COLOR_WEIGHTS))


def _run_fast(
    image: np.ndarray, mask: np.ndarray | None, ctx: RunContext, sigma: float | None = 0.0
) -> Generator[Progress, None, np.ndarray]:
    return (yield from _denoise(image, ctx, sigma, False, FAST_WEIGHTS, None))


def _run_scan(
    image: np.ndarray, mask: np.ndarray | None, ctx: RunContext, sigma: float | None = 0.0
) -> Generator[Progress, None, np.ndarray]:
    """A small plain network (core/archs/fast_denoiser.py) trained on scan noise: its input is the slice
    as the engine hands it (normalised by the volume's value range) and the σ map the other denoisers
    use, as in training."""
    return (yield from _denoise(image, ctx, sigma, False, SCAN_WEIGHTS, None))


def _denoise(
    image: np.ndarray, ctx: RunContext, sigma, ensemble: bool, gray_weights: str, color_weights: str | None
) -> Generator[Progress, None, np.ndarray]:
    """A learned denoiser over tiles; without color weights, color planes go one by one through the gray
    network."""
    import torch

    from core.methods import weights
    from core.runtime.backends import NetworkCall, network, plane_by_plane
    from core.runtime.ensemble import self_ensemble
    from core.runtime.tiling import run_tiled

    color, alpha = split_alpha(image)
    channels = color.shape[2]
    if channels not in (1, 3):
        from core.errors import MethodError

        raise MethodError(f"the learned denoiser takes gray or RGB images, not {channels} channels")
    yield ctx.progress(0.0, "estimating the noise level" if not sigma else "denoising")
    level = sigma_or_estimate(color, sigma, ctx) / 255.0
    path, by_plane = weights.gray_or_color(channels == 1, gray_weights, color_weights)
    planes = 1 if by_plane else channels
    net = network(NetworkCall(path, ("noisy", "sigma"), calibrate=noisy_for_calibration(planes)), ctx)
    if by_plane:
        net = plane_by_plane(net)
    passes = 8 if ensemble else 1

    def one_pass(x):
        return net(x, torch.full_like(x[:, :1], level))

    def denoise(tile):
        return self_ensemble(one_pass, tile, count=passes)

    work = ctx.sub(0.02, 1.0)
    # About 3 kB of activations per pixel in float32 (64 features at full resolution, skips,
    # temporaries; measured on the CPU: 1.3 GB for a 640-pixel tile).
    result = yield from run_tiled(
        denoise, color, work, overlap=32, message="denoising tile", pixel_bytes=3072 // channels
    )
    return join_alpha(result, alpha)


def noisy_for_calibration(channels: int, sigmas: tuple[float, ...] = (10.0, 25.0, 50.0)):
    """A clean RGB crop -> the denoiser's inputs for it at each noise σ (int8 calibration)."""

    def inputs(clean: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        planes = clean.mean(axis=2, keepdims=True) if channels == 1 else clean
        rng = np.random.default_rng(0)
        pairs = []
        for sigma in sigmas:
            noisy = (planes + rng.normal(0.0, sigma / 255.0, planes.shape)).astype(np.float32)
            noisy = np.ascontiguousarray(noisy.transpose(2, 0, 1)[None])
            pairs.append((noisy, np.full_like(noisy[:, :1], sigma / 255.0)))
        return pairs

    return inputs


# --- zero-shot ---------------------------------------------------------------------------------------


def _pair_downsample(x):
    """Zero-Shot Noise2Noise's two sub-images: means of the two diagonals of every 2×2 block."""
    a = x[..., 0::2, 0::2][..., : x.shape[-2] // 2, : x.shape[-1] // 2]
    b = x[..., 0::2, 1::2][..., : x.shape[-2] // 2, : x.shape[-1] // 2]
    c = x[..., 1::2, 0::2][..., : x.shape[-2] // 2, : x.shape[-1] // 2]
    d = x[..., 1::2, 1::2][..., : x.shape[-2] // 2, : x.shape[-1] // 2]
    return (b + c) / 2, (a + d) / 2


def _zs_network(channels: int, width: int):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, width, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, channels, 1),
    )


def _run_zero_shot(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    iterations: int = 2000,
    ensemble: bool = True,
    train_size: int = 512,
) -> Generator[Progress, None, np.ndarray]:
    """Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023), our implementation.

    A two-layer network learns, from the image alone, to map one diagonal sub-image of every 2×2 block
    to the other (their noise is independent, their content nearly equal), with a consistency term
    tying the full-resolution result to the sub-images. The network predicts the noise. Images larger
    than `train_size` are fitted on random crops of that size per step (the network is tiny and
    translation invariant), which bounds the time and memory of a step.
    """
    import torch
    from torch.nn import functional as F

    from core.runtime.ensemble import self_ensemble
    from core.runtime.tiling import run_tiled

    color, alpha = split_alpha(image)
    channels = color.shape[2]
    device = ctx.torch_device()
    generator = ctx.torch_generator()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        net = _zs_network(channels, 48).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(iterations // 2, 1), gamma=0.5)
    full = torch.from_numpy(np.ascontiguousarray(color.transpose(2, 0, 1)))[None]
    height, width = color.shape[:2]
    crop_h, crop_w = min(height, train_size) // 2 * 2, min(width, train_size) // 2 * 2
    fixed = full[..., :crop_h, :crop_w].to(device) if (crop_h, crop_w) == (height, width) else None
    fit = ctx.sub(0.0, 0.9)
    for it in range(iterations):
        if fixed is not None:
            noisy = fixed
        else:
            y = int(torch.randint(height - crop_h + 1, (1,), generator=generator))
            x = int(torch.randint(width - crop_w + 1, (1,), generator=generator))
            noisy = full[..., y : y + crop_h, x : x + crop_w].to(device)
        first, second = _pair_downsample(noisy)
        pred_first, pred_second = first - net(first), second - net(second)
        residual = 0.5 * (F.mse_loss(pred_first, second) + F.mse_loss(pred_second, first))
        cons_first, cons_second = _pair_downsample(noisy - net(noisy))
        consistency = 0.5 * (F.mse_loss(pred_first, cons_first) + F.mse_loss(pred_second, cons_second))
        optimizer.zero_grad(set_to_none=True)
        (residual + consistency).backward()
        optimizer.step()
        scheduler.step()
        # Every step reports (and so can be cancelled): a step on a big crop can take a second on a CPU.
        yield fit.progress((it + 1) / iterations, f"learning the noise: step {it + 1}/{iterations}")
    net.eval()
    passes = 8 if ensemble else 1
    on_device = {device: net}

    def apply(tile):
        if tile.device not in on_device:  # after an out-of-memory fall-back to the CPU
            on_device[tile.device] = _copy_to(net, tile.device)
        model = on_device[tile.device]
        return self_ensemble(lambda x: x - model(x), tile, count=passes)

    # The receptive field is 5 pixels: a small overlap makes tiling exact.
    result = yield from run_tiled(apply, color, ctx.sub(0.9, 1.0), overlap=8, message="denoising tile")
    return join_alpha(result, alpha)


def _copy_to(net, device):
    import copy

    return copy.deepcopy(net).to(device)


# --- classical ---------------------------------------------------------------------------------------


NLM_PATCH, NLM_DISTANCE = 5, 6
# A pixel's result depends only on pixels within patch_distance + patch_size // 2 of it.
NLM_MARGIN = NLM_DISTANCE + NLM_PATCH // 2 + 1


def nl_means(color: np.ndarray, level: float, strength: float = 0.6) -> np.ndarray:
    """scikit-image's non-local means (fast mode) of a (H, W, C) region, unclipped, same shape.

    `level` is σ in units of the [0, 1] range; `strength` is the filter strength h as a multiple of σ.
    """
    from skimage.restoration import denoise_nl_means

    out = denoise_nl_means(
        color,
        h=strength * level,
        sigma=level,
        patch_size=NLM_PATCH,
        patch_distance=NLM_DISTANCE,
        fast_mode=True,
        channel_axis=-1,
    )
    return out.reshape(color.shape).astype(np.float32, copy=False)


def nl_means_strips(
    color: np.ndarray, level: float, strength: float, ctx: RunContext
) -> Generator[Progress, None, np.ndarray]:
    """`nl_means` of the whole image, computed in strips so it reports progress and cancels.

    Strips with NLM_MARGIN rows of context give exactly the whole-image result.
    """
    height, width = color.shape[:2]
    rows = max(16, STRIP_PIXELS // max(width, 1))
    out = np.empty(color.shape, np.float32)
    starts = list(range(0, height, rows))
    for n, top in enumerate(starts):
        bottom = min(top + rows, height)
        lo, hi = max(top - NLM_MARGIN, 0), min(bottom + NLM_MARGIN, height)
        out[top:bottom] = nl_means(color[lo:hi], level, strength)[top - lo : bottom - lo]
        yield ctx.progress((n + 1) / len(starts), f"denoising rows {bottom}/{height}")
    return out


def _run_nl_means(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    sigma: float | None = 0.0,
    strength: float = 0.6,
) -> Generator[Progress, None, np.ndarray]:
    """scikit-image's non-local means (fast mode), run in strips so it reports progress and cancels."""
    color, alpha = split_alpha(image)
    yield ctx.progress(0.0, "estimating the noise level" if not sigma else "denoising")
    level = sigma_or_estimate(color, sigma, ctx) / 255.0
    out = yield from nl_means_strips(color, level, strength, ctx)
    return join_alpha(out, alpha)


register(
    MethodCard(
        id="denoise-learned",
        task="denoise",
        name="Learned denoiser",
        kind="learned",
        description="Removes grain and sensor noise with a network trained by Lacuna; finds the noise level.",
        params=(
            SIGMA,
            Param("ensemble", False, "average 8 rotated/flipped passes: a little better, 8× slower"),
        ),
        weights=(GRAY_WEIGHTS, COLOR_WEIGHTS),
        speed="medium",
        default=True,
    ),
    _run_learned,
)

register(
    MethodCard(
        id="denoise-fast",
        variant_of="denoise-learned",
        task="denoise",
        name="Fast denoiser",
        kind="learned",
        description="The learned denoiser's network with fewer residual blocks, distilled from it, for "
        "speed on a CPU, on gray pictures. Colour photos go plane by plane: three times a gray "
        "picture's time, and below the learned denoiser on CBSD68 (its card).",
        params=(SIGMA,),
        weights=(FAST_WEIGHTS,),
        speed="fast",
    ),
    _run_fast,
)

register(
    MethodCard(
        id="denoise-scan",
        task="denoise",
        name="Scan denoiser",
        kind="learned",
        description="A small network trained by Lacuna on CT and MR slices with simulated low-dose CT "
        "(projection-domain) and Rician MR noise; for scans, not photos.",
        modalities=("ct", "mr"),
        params=(SIGMA,),
        weights=(SCAN_WEIGHTS,),
        speed="fast",
        scan_default=True,
    ),
    _run_scan,
)

register(
    MethodCard(
        id="denoise-zs-n2n",
        task="denoise",
        name="Zero-shot Noise2Noise",
        kind="zero-shot",
        description="Learns the noise from this image alone, any kind of pixel noise, no σ needed; minutes.",
        params=(
            Param("iterations", 2000, "training steps on the image", minimum=50, maximum=20000),
            Param("ensemble", True, "average 8 rotated/flipped passes of the fitted network"),
            Param("train_size", 512, "larger images are fitted on random crops of this size", 64, 4096),
        ),
        speed="slow",
    ),
    _run_zero_shot,
)

register(
    MethodCard(
        id="denoise-nlmeans",
        scan_default=True,
        task="denoise",
        name="Non-local means",
        kind="classical",
        description="Averages similar patches (scikit-image); no network, predictable, softer on texture.",
        params=(
            SIGMA,
            Param("strength", 0.6, "filter strength h as a multiple of σ", minimum=0.1, maximum=3.0),
        ),
        speed="medium",
    ),
    _run_nl_means,
)
