"""Upscale methods: the shipped network, zero-shot ZSSR, and MATLAB bicubic / Lanczos baselines.

Color is handled as the super-resolution literature does (VDSR): the luma channel (BT.601, full
range, as Pillow's "L") goes through the network and the chroma channels, like alpha, are up-sampled
with bicubic. Gray images go through the network directly. Every method runs tile by tile through
`run_tiled(..., scale=s)`, so large images fit in memory, report progress and can be cancelled, with
blended seams. Torch is imported inside the functions: listing methods stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

from core.errors import MethodError
from core.luma import LUMA_WEIGHTS, luma_of
from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

WEIGHTS = "upscale.safetensors"
FAST_WEIGHTS = "upscale-fast.safetensors"  # distilled from WEIGHTS (core/train/recipes/upscale_fast.py)
SCALE = Param("scale", 2, "enlargement factor", choices=(2, 3, 4))

KERNEL_OVERLAP = 8
# The shipped network takes about 1 s per 10,000 low-resolution pixels on a busy 2-core CPU: 384-pixel
# tiles report every 10-20 s and cost ~1.6x in overlaps (a 2000x2000 image at x4: 49 tiles).
CPU_TILE = 384


# --- color handling shared by the methods --------------------------------------------------------


def rgb_to_ycbcr(rgb):
    """(B, 3, H, W) RGB in [0, 1] -> Y, CbCr (BT.601 full range, JPEG's YCbCr; Y = Pillow's "L")."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    kr, kg, kb = LUMA_WEIGHTS
    y = kr * r + kg * g + kb * b
    cb = (b - y) * (0.5 / 0.886) + 0.5
    cr = (r - y) * (0.5 / 0.701) + 0.5
    return y, cb, cr


def ycbcr_to_rgb(y, cb, cr):
    import torch

    cb, cr = cb - 0.5, cr - 0.5
    r = y + 1.402 * cr
    kr, kg, kb = LUMA_WEIGHTS
    g = y - (kb * 1.772 / kg) * cb - (kr * 1.402 / kg) * cr
    b = y + 1.772 * cb
    return torch.cat([r, g, b], dim=1)


def by_luma(net_fn: Callable, scale: int) -> Callable:
    """Wrap a (1, 1, h, w) -> (1, 1, sh, sw) luma upscaler into a tile function for any channel count."""
    import torch

    from core.imresize import torch_upsample

    def fn(tile):
        channels = tile.shape[1]
        if channels in (1, 2):
            out = [net_fn(tile[:, :1])]
        else:
            y, cb, cr = rgb_to_ycbcr(tile[:, :3])
            out = [ycbcr_to_rgb(net_fn(y), torch_upsample(cb, scale), torch_upsample(cr, scale))]
        if channels in (2, 4):  # alpha: bicubic
            out.append(torch_upsample(tile[:, -1:], scale))
        return torch.cat(out, dim=1)

    return fn


def with_ensemble(net_fn: Callable) -> Callable:
    """x8 self-ensemble: average the network over the 8 flips/rotations of its input."""
    from core.runtime.ensemble import self_ensemble

    return lambda x: self_ensemble(net_fn, x)


def network_fn(model, scale: int, device, precision: str = "auto") -> Callable:
    """Call an `sr_resnet` model on luma tiles, in the precision the policy picks (runtime.device)."""
    from core.archs.needs import needs_of
    from core.runtime.device import autocast

    needs = needs_of(model)

    def fn(x):
        with autocast(x.device, precision, needs):
            return model(x.float(), scale).float()

    return fn


def upscale_with(
    net_fn: Callable,
    image: np.ndarray,
    ctx: RunContext,
    scale: int,
    ensemble: bool = False,
    cpu_tile: int = 0,
    overlap: int = 40,
) -> Generator[Progress, None, np.ndarray]:
    """Tile an (H, W, C) image through a luma network; chroma and alpha by bicubic. `overlap`: the
    network's (`NetworkNeeds.overlap`).

    `cpu_tile`: on the CPU, a tile edge (low-resolution pixels) small enough that progress comes
    every few seconds and Cancel answers quickly, when the user chose no tile size.
    """
    import dataclasses

    import torch

    from core.runtime.tiling import run_tiled

    if cpu_tile and not ctx.tile and ctx.torch_device().type == "cpu":
        ctx = dataclasses.replace(ctx, tile=cpu_tile)
    fn = by_luma(with_ensemble(net_fn) if ensemble else net_fn, scale)
    out = yield from run_tiled(
        fn, image, ctx, scale=scale, overlap=overlap, dtype=torch.float32, message="upscaling tile"
    )
    return out


# --- zero-shot training -------------------------------------------------------------------------


def train_zssr(
    luma: np.ndarray, scale: int, iterations: int, ctx: RunContext, device, batch: int = 8
) -> Generator[Progress, None, object]:
    """ZSSR (Shocher et al. 2018): fit a small network to (down-scaled crop -> crop) pairs of the image.

    "Fathers" are random crops of the image and of copies of it shrunk by 0.9 ... 0.5 (more
    examples of the same structures at other scales); their "sons" are the fathers down-sampled by
    `scale` with the MATLAB bicubic kernel, the degradation the method assumes. Crops are flipped and
    rotated at random. The network learns the residual over bicubic, so it starts as bicubic.
    """
    import math

    import torch

    from core.archs.sr import SRResNet
    from core.imresize import imresize, torch_downsample

    height, width = luma.shape
    patch = min(32, height // scale, width // scale)  # low-resolution side of a training pair
    if patch < 4:
        raise MethodError(f"the image is {width}×{height} pixels: too small to learn ×{scale} from itself")
    side = patch * scale
    fathers = [luma.astype(np.float32)]
    for factor in (0.9, 0.8, 0.7, 0.6, 0.5):
        shrunk = imresize(luma, factor)
        if min(shrunk.shape) < side:
            break
        fathers.append(shrunk.astype(np.float32))
    tensors = [torch.from_numpy(f)[None].to(device) for f in fathers]
    chance = torch.tensor([float(f.size) for f in fathers], dtype=torch.float64)

    # Late in training, Adam's moments underflow to denormals, which are 30x slower on CPUs.
    torch.set_flush_denormal(True)
    generator = torch.Generator().manual_seed(int(ctx.seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(ctx.seed))
        model = SRResNet(channels=1, features=32, blocks=4, scales=(scale,)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for it in range(iterations):
        for group in optimizer.param_groups:  # cosine from 1e-3 to 1e-5
            group["lr"] = 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * it / max(iterations, 1)))
        crops = []
        for pick in torch.multinomial(chance, batch, replacement=True, generator=generator).tolist():
            img = tensors[pick]
            y = int(torch.randint(img.shape[1] - side + 1, (1,), generator=generator))
            x = int(torch.randint(img.shape[2] - side + 1, (1,), generator=generator))
            k = int(torch.randint(8, (1,), generator=generator))
            crop = torch.rot90(img[:, y : y + side, x : x + side], k % 4, dims=(1, 2))
            crops.append(torch.flip(crop, dims=(2,)) if k >= 4 else crop)
        father = torch.stack(crops)
        son = torch_downsample(father, scale)
        loss = torch.nn.functional.l1_loss(model(son, scale), father)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        yield ctx.progress((it + 1) / iterations, f"learning from the image: step {it + 1}/{iterations}")
    model.eval()
    return model


# --- methods ------------------------------------------------------------------------------------


def _check(image: np.ndarray, scale: int) -> None:
    if min(image.shape[:2]) < 2:
        raise MethodError(f"the image is {image.shape[1]}×{image.shape[0]} pixels: too small to upscale")


def run_learned(
    image: np.ndarray, mask, ctx: RunContext, scale: int = 2, ensemble: bool = False
) -> Generator[Progress, None, np.ndarray]:
    return (yield from _run_network(WEIGHTS, image, ctx, scale, ensemble))


def run_fast(
    image: np.ndarray, mask, ctx: RunContext, scale: int = 2
) -> Generator[Progress, None, np.ndarray]:
    return (yield from _run_network(FAST_WEIGHTS, image, ctx, scale))


def _run_network(
    name: str, image: np.ndarray, ctx: RunContext, scale: int, ensemble: bool = False
) -> Generator[Progress, None, np.ndarray]:
    """A shipped luma network (weights file `name`) over tiles; chroma and alpha by bicubic."""
    from core.archs import cached_weights
    from core.archs.needs import needs_of
    from core.methods import weights
    from core.runtime.backends import NetworkCall, network

    _check(image, scale)
    path = weights.require(name)
    model, info = cached_weights(path, ctx.torch_device())
    if scale not in getattr(model, "scales", ()):
        raise MethodError(f"{name} was trained for scales {list(model.scales)}, not ×{scale}")
    yield ctx.progress(0.0, "network loaded")
    call = NetworkCall(path, ("image",), (("scale", scale),), scale, calibrate=low_resolution_for(scale))
    net_fn = network(call, ctx)
    overlap = needs_of(model).overlap
    return (yield from upscale_with(net_fn, image, ctx, scale, ensemble, cpu_tile=CPU_TILE, overlap=overlap))


def low_resolution_for(scale: int) -> Callable:
    """A clean RGB crop -> the network's input for it: its luma, bicubic-reduced (int8 calibration)."""

    def inputs(clean: np.ndarray) -> list[tuple[np.ndarray]]:
        import torch

        from core.imresize import torch_downsample

        luma = torch.from_numpy(luma_of(clean))[None, None]
        return [(torch_downsample(luma, scale).clamp(0, 1).numpy(),)]

    return inputs


def run_bicubic(
    image: np.ndarray, mask, ctx: RunContext, scale: int = 2
) -> Generator[Progress, None, np.ndarray]:
    """MATLAB's bicubic (a = -0.5, mirrored borders), the baseline of the literature."""
    import torch

    from core.imresize import torch_upsample
    from core.runtime.tiling import run_tiled

    _check(image, scale)
    out = yield from run_tiled(
        lambda t: torch_upsample(t, scale),
        image,
        ctx,
        scale=scale,
        overlap=KERNEL_OVERLAP,
        device=torch.device("cpu"),
        message="bicubic tile",
    )
    return out


def run_lanczos(
    image: np.ndarray, mask, ctx: RunContext, scale: int = 2
) -> Generator[Progress, None, np.ndarray]:
    """Pillow's Lanczos (a = 3) on float32 channels: no 8-bit rounding, 16-bit data keeps its precision."""
    import torch
    from PIL import Image

    from core.runtime.tiling import run_tiled

    def fn(tiles):
        h, w = tiles.shape[-2:]
        planes = [
            [
                np.asarray(Image.fromarray(c, "F").resize((w * scale, h * scale), Image.Resampling.LANCZOS))
                for c in tile
            ]
            for tile in tiles.numpy().astype(np.float32)
        ]
        return torch.from_numpy(np.array(planes))

    _check(image, scale)
    out = yield from run_tiled(
        fn,
        image,
        ctx,
        scale=scale,
        overlap=KERNEL_OVERLAP,
        device=torch.device("cpu"),
        message="Lanczos tile",
    )
    return out


def run_zssr(
    image: np.ndarray, mask, ctx: RunContext, scale: int = 2, iterations: int = 400
) -> Generator[Progress, None, np.ndarray]:
    from core.archs.needs import needs_of

    _check(image, scale)
    device = ctx.torch_device()
    model = yield from train_zssr(luma_of(image), scale, iterations, ctx.sub(0.0, 0.85), device)
    net_fn = network_fn(model, scale, device, "float32")
    return (
        yield from upscale_with(net_fn, image, ctx.sub(0.85, 1.0), scale, overlap=needs_of(model).overlap)
    )


register(
    MethodCard(
        id="upscale-learned",
        task="upscale",
        name="Learned super-resolution",
        kind="learned",
        description=(
            "A residual network trained by Lacuna on natural photos (gray400 + color432) predicts the "
            "detail bicubic up-sampling misses (sub-pixel convolution). Color: luma by the network, "
            "chroma by bicubic. ×2, ×3, ×4."
        ),
        params=(SCALE, Param("ensemble", False, "average over 8 flips/rotations (8× slower, a bit sharper)")),
        weights=(WEIGHTS,),
        speed="medium",
        default=True,
    ),
    run_learned,
)

register(
    MethodCard(
        id="upscale-fast",
        variant_of="upscale-learned",
        task="upscale",
        name="Fast super-resolution",
        kind="learned",
        description=(
            "A small network distilled from the learned super-resolution (the same layout, a seventh of "
            "its work per pixel), for speed on a CPU. Color: luma by the network, chroma by bicubic. "
            "×2, ×3, ×4."
        ),
        params=(SCALE,),
        weights=(FAST_WEIGHTS,),
        speed="fast",
    ),
    run_fast,
)

register(
    MethodCard(
        id="upscale-zssr",
        task="upscale",
        name="Zero-shot super-resolution (ZSSR)",
        kind="zero-shot",
        description=(
            "Learns from the image itself: a small network is trained on down-scaled copies of the input, "
            "then applied to it. Needs no weights, so it suits modalities no shipped model saw (CT, MR, "
            "microscopy). Takes minutes on a CPU."
        ),
        params=(SCALE, Param("iterations", 400, "training steps on the image", minimum=1, maximum=20000)),
        speed="slow",
    ),
    run_zssr,
)

register(
    MethodCard(
        id="upscale-bicubic",
        scan_default=True,
        task="upscale",
        name="Bicubic",
        kind="classical",
        description="MATLAB-compatible bicubic interpolation (the literature's baseline).",
        params=(SCALE,),
    ),
    run_bicubic,
)

register(
    MethodCard(
        id="upscale-lanczos",
        task="upscale",
        name="Lanczos",
        kind="classical",
        description="Lanczos-3 interpolation (Pillow): slightly sharper than bicubic, with mild ringing.",
        params=(SCALE,),
    ),
    run_lanczos,
)
