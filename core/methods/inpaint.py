"""Inpainting: fill what the mask covers.

- inpaint-learned (default): the project's FFC encoder-decoder (core/archs/inpaint.py), trained with an
  adversarial loss; color network, gray images are replicated to RGB and the mean is taken back.
- inpaint-dip: Deep Image Prior, an untrained U-Net fitted to the known pixels (any modality, slow).
- inpaint-exemplar: the learned fill with fine texture copied from the rest of the picture (OpenCV
  contrib's shift-map), so large holes in grain, foliage or hair stay textured where the network is smooth.
- inpaint-biharmonic (scikit-image), inpaint-telea and inpaint-ns (OpenCV): classical baselines.

Every method fills crops around the connected masked regions through the one crop-and-paste loop
(core.methods.crops). Every card declares `dilate` (grow the mask before filling, so the rim of a
scratch is not used as context) and `feather` (blend the fill into the original over that many
pixels inside the mask edge): the mask contract (core.repair.masks) applies both, so `run` receives
the grown hole and never blends.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from core.errors import MethodError
from core.methods.crops import fill_regions
from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

WEIGHTS = "inpaint.safetensors"
FAST_WEIGHTS = "inpaint-fast.safetensors"  # distilled from WEIGHTS (core/train/recipes/inpaint_fast.py)
FLOAT_INPAINT_SCALE = 1 << 20  # OpenCV inpaints [0, 1] data scaled to this (see _opencv)

MASK_PARAMS = (
    Param("dilate", 0, "grow the mask by this many pixels before filling", 0, 64),
    Param("feather", 0, "blend the fill into the original over this many pixels inside the mask edge", 0, 64),
)

CONTEXT = Param("context", 2.5, "context around each region, as a multiple of its size", 1.2, 8.0)
MAX_SIDE = Param("max_side", 1024, "larger crops run at reduced size (filled area upsampled)", 256, 4096)


# --- shared helpers ---------------------------------------------------------------------------------


def _check(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        raise MethodError("inpainting needs a mask: paint what should be filled")
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise MethodError(
            f"the mask is {mask.shape[1]}×{mask.shape[0]} pixels but the image is "
            f"{image.shape[1]}×{image.shape[0]}"
        )
    hole = mask != 0
    if hole.all():
        raise MethodError("the mask covers the whole picture: there is nothing left to fill it from")
    return hole


def _colour_groups(channels: int) -> list[list[int]]:
    """The planes the network fills: RGB(A) as one RGB group, gray(+alpha) as the gray plane."""
    return [[0, 1, 2]] if channels >= 3 else [[0]]


def _alpha_channels(channels: int) -> list[int]:
    """Gray+alpha's second plane, RGBA's fourth: transparency, not picture, so not the network's to
    invent (run through it, an opaque photo came back with alpha down to 172 in its holes); the
    repair keeps the source's (core.repair.frames)."""
    return [1] if channels == 2 else list(range(3, channels))


def _opencv_plane(plane: np.ndarray, hole: np.ndarray, radius: float = 5.0, flag: str = "INPAINT_TELEA"):
    """OpenCV's fill of one [0, 1] plane. Its 3-channel path is 8-bit only; float32 one plane at a
    time keeps 16-bit and HU data at full precision. Its float Telea adds a checkerboard of about
    ±1.5 in the plane's own units whatever their scale (±27 HU on a flat CT region at 0..255), so the
    plane is scaled to 0..FLOAT_INPAINT_SCALE, where that error is negligible."""
    import cv2

    scaled = np.ascontiguousarray(plane * FLOAT_INPAINT_SCALE, dtype=np.float32)
    return cv2.inpaint(scaled, hole.astype(np.uint8), float(radius), getattr(cv2, flag)) / FLOAT_INPAINT_SCALE


# --- learned ------------------------------------------------------------------------------------------


def _run_learned(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    context: float = 2.5,
    max_side: int = 1024,
    ensemble: bool = False,
    thin_holes_telea: bool = True,
    grain: float = 0.0,
) -> Generator[Progress, None, np.ndarray]:
    return (
        yield from _run_network(
            WEIGHTS, image, mask, ctx, context, max_side, ensemble, thin_holes_telea, grain
        )
    )


def _run_fast(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    context: float = 2.5,
    max_side: int = 1024,
    thin_holes_telea: bool = True,
    grain: float = 0.0,
) -> Generator[Progress, None, np.ndarray]:
    return (
        yield from _run_network(
            FAST_WEIGHTS, image, mask, ctx, context, max_side, thin_holes_telea=thin_holes_telea, grain=grain
        )
    )


def _run_network(
    name: str,
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    context: float,
    max_side: int,
    ensemble: bool = False,
    thin_holes_telea: bool = True,
    grain: float = 0.0,
) -> Generator[Progress, None, np.ndarray]:
    """A shipped inpainting network (weights file `name`) on crops around the masked regions; with
    `thin_holes_telea`, thin parts of the hole from Telea (`_thin_from_telea`); with `grain`, grain
    like the picture's added to the fill (core.methods.grain)."""
    import torch

    from core.archs import cached_weights
    from core.methods import weights
    from core.methods.grain import with_grain
    from core.runtime.backends import NetworkCall, network

    device = ctx.torch_device()
    path = weights.require(name)
    model, _info = cached_weights(path, device)
    net = network(NetworkCall(path, ("image", "mask"), calibrate=holes_for_calibration), ctx)
    net_channels = int(getattr(model, "channels", 3))

    def fill(crop: np.ndarray, crop_hole: np.ndarray, _ctx: RunContext) -> np.ndarray:
        with torch.inference_mode():
            filled = _net_fill(net, net_channels, crop, crop_hole, device, max_side, ensemble)
        return _thin_from_telea(crop, crop_hole, filled) if thin_holes_telea else filled

    hole = _check(image, mask)
    filled = yield from fill_regions(image, hole, ctx, fill, context=context, min_size=192)
    if grain:  # the grain drawn depends on it: recorded so the record can reproduce the result
        ctx.record_setting("seed", ctx.seed)
    return with_grain(image, filled, hole, grain, ctx.seed)


# The network learned on holes several pixels wide: a hole of 1-2 pixels (a dust speck, a stuck pixel,
# a hairline scratch) it fills tens of levels off (on training photos, mean error 35 levels at 1-px
# holes and 25 at 2-px ones, where Telea is off by 6 and 8; equal from 5 px), while at the edge of a
# wide hole it does better than Telea. So thin parts of a hole, where no pixel lies more than a pixel
# or two from the known picture, take Telea's fill, blended into the network's as the hole widens.
THIN_HALF_WIDTH_PX = (1.0, 3.0)  # all Telea up to the first, all network from the second
THIN_HOLES = Param(
    "thin_holes_telea", True, "fill the parts of holes 1-2 px wide with Telea, where the network is off"
)
GRAIN = Param(
    "grain",
    0.0,
    "add grain like the picture's around each hole, for grainy prints and film: 1 as measured there;"
    " 0, none: the smooth fill, closest on average",
    0.0,
    2.0,
    zero_means="none",
)


def _thin_from_telea(crop: np.ndarray, hole: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """`filled` (h, w, C), the network's fill of `hole` in `crop`, with Telea's fill where the hole
    is thin: its half-width there is the largest distance to the known picture within 2 pixels."""
    import cv2

    inward = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    half_width = cv2.dilate(inward, np.ones((5, 5), np.uint8))
    thinnest, widest = THIN_HALF_WIDTH_PX
    network_share = np.clip((half_width - thinnest) / (widest - thinnest), 0.0, 1.0)[..., None]
    if network_share[hole].min() >= 1.0:
        return filled
    classical = np.stack([_opencv_plane(crop[..., c], hole) for c in range(crop.shape[-1])], axis=-1)
    return network_share * filled + (1.0 - network_share) * classical


def holes_for_calibration(clean: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A clean RGB crop -> the network's inputs for it with a square hole (int8 calibration)."""
    height, width = clean.shape[:2]
    hole = np.zeros((1, 1, height, width), np.float32)
    hole[..., height // 4 : height // 2, width // 3 : 2 * width // 3] = 1.0
    return [(np.ascontiguousarray(clean.transpose(2, 0, 1)[None]), hole)]


def _net_fill(
    net, net_channels: int, crop: np.ndarray, hole: np.ndarray, device, max_side: int, ensemble: bool = False
) -> np.ndarray:
    """Run the network (a function of image and mask tensors, core.runtime.backends) on one crop
    (h, w, C); crops larger than `max_side` run at a reduced size."""
    import cv2
    import torch

    from core.runtime.ensemble import self_ensemble

    height, width, channels = crop.shape
    scale = min(1.0, max_side / max(height, width))
    small_hw = (max(8, round(height * scale)), max(8, round(width * scale)))
    work, work_hole = crop, hole
    if scale < 1.0:
        work = cv2.resize(crop, small_hw[::-1], interpolation=cv2.INTER_AREA).reshape(*small_hw, channels)
        # A small pixel is a hole if any of the pixels it covers is.
        work_hole = cv2.resize(hole.astype(np.float32), small_hw[::-1], interpolation=cv2.INTER_AREA) > 0
    mask_t = torch.from_numpy(work_hole.astype(np.float32))[None, None].to(device)
    out = np.empty_like(work)
    for c in _alpha_channels(channels):  # as it was: transparency is not the network's to fill
        out[..., c] = work[..., c]
    for group in _colour_groups(channels):
        x = work[..., group]
        if net_channels == 3 and len(group) == 1:
            x = np.repeat(x, 3, axis=-1)  # a gray plane runs through the color network as RGB
        planes = [x] if net_channels == x.shape[-1] else [x[..., i : i + 1] for i in range(x.shape[-1])]
        results = []
        for plane in planes:
            t = torch.from_numpy(np.ascontiguousarray(plane.transpose(2, 0, 1)))[None].to(device)
            y = self_ensemble(net, t, mask_t, count=8 if ensemble else 1)
            results.append(y.float()[0].permute(1, 2, 0).cpu().numpy())
        y = np.concatenate(results, axis=-1)
        out[..., group] = y.mean(axis=-1, keepdims=True) if len(group) == 1 else y
    if scale < 1.0:
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, channels)
    return np.clip(out, 0.0, 1.0)


# --- deep image prior --------------------------------------------------------------------------------


def _run_dip(
    image: np.ndarray,
    mask: np.ndarray | None,
    ctx: RunContext,
    iterations: int = 1000,
    preview_every: int = 100,
    width: int = 32,
    lr: float = 0.01,
) -> Generator[Progress, None, np.ndarray]:
    device = ctx.torch_device()

    def fill(crop: np.ndarray, crop_hole: np.ndarray, sub: RunContext):
        return _dip_fit(crop, crop_hole, sub, device, iterations, preview_every, width, lr, ctx.seed)

    return (yield from fill_regions(image, _check(image, mask), ctx, fill, context=1.5, min_size=128))


def _dip_fit(crop, crop_hole, ctx, device, iterations, preview_every, width, lr, seed):
    """Fit an untrained U-Net from fixed noise to the known pixels of one crop; return its output
    (previews: the crop's current fit)."""
    import torch

    from core.archs import build_arch
    from core.archs.needs import needs_of
    from core.runtime.device import autocast

    known_np = ~crop_hole
    height, width_px, channels = crop.shape
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_arch("dip_unet", channels=channels, width=width).to(device)
    noise = (torch.rand(1, net.in_channels, height, width_px, generator=gen) * 0.1).to(device)
    target = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None].to(device)
    known = torch.from_numpy(known_np.astype(np.float32))[None, None].to(device)
    count = known.sum().clamp(min=1.0) * channels
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    average = None
    for it in range(iterations):
        # Perturbing the input a little each step (as in the DIP paper) regularises the fit.
        jitter = torch.randn(noise.shape, generator=gen).to(device) / 30.0
        with autocast(device, ctx.precision, needs_of(net)):
            out = net(noise + jitter)
        loss = (((out.float() - target) ** 2) * known).sum() / count
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # An exponential average of the outputs removes most of the fitting noise of single steps.
        out = out.detach().float()
        average = out if average is None else average.lerp_(out, 0.02)
        preview = None
        if preview_every and (it + 1) % preview_every == 0 and it + 1 < iterations:
            preview = average[0].permute(1, 2, 0).cpu().numpy()
        yield ctx.progress((it + 1) / iterations, f"iteration {it + 1}/{iterations}", preview=preview)
    return np.clip(average[0].permute(1, 2, 0).cpu().numpy(), 0.0, 1.0)


# --- classical ---------------------------------------------------------------------------------------


def _run_biharmonic(
    image: np.ndarray, mask: np.ndarray | None, ctx: RunContext
) -> Generator[Progress, None, np.ndarray]:
    from skimage.restoration import inpaint_biharmonic

    def fill(crop: np.ndarray, crop_hole: np.ndarray, _ctx: RunContext) -> np.ndarray:
        return inpaint_biharmonic(crop, crop_hole, channel_axis=-1)

    # The biharmonic solution only depends on a thin ring of known pixels around each hole.
    hole = _check(image, mask)
    return (yield from fill_regions(image, hole, ctx, fill, context=1.0, min_size=16, margin=8))


COPY_RING = 6  # pixels around a hole copied too, so the texture's high-pass near the edge sees copy only
COPY_PASSES = 8  # shift-map reaches a hole's far side from copies made by the passes before
TEXTURE_SIGMA = 2.0  # pixels: finer than this is texture (copied); coarser is structure (the network's)
TEXTURE_REACH = 12.0  # pixels: how far the surroundings' texture strength is carried into a hole
TEXTURE_HEADROOM = 2.5  # a copied pixel's fine scale may exceed the local mean |fine scale| this much


def _run_exemplar(
    image: np.ndarray, mask: np.ndarray | None, ctx: RunContext, context: float = 3.0
) -> Generator[Progress, None, np.ndarray]:
    """Structure from the learned fill, texture from a copy (Bertalmio et al. 2003 split an image the
    same way): the network's fill is smooth but fits the surroundings, the shift-map's copy is
    textured but may bring a foreign object, whose colour this leaves behind with the coarse scales."""
    import cv2

    hole = _check(image, mask)
    if not hasattr(cv2, "xphoto"):  # a plain OpenCV package installed over the contrib one
        raise MethodError(
            "inpaint-exemplar needs OpenCV's contrib modules: pip install --force-reinstall "
            "opencv-contrib-python-headless"
        )
    structure = yield from _run_network(
        WEIGHTS, image, mask, ctx.sub(0.0, 0.3), CONTEXT.default, MAX_SIDE.default
    )
    channels = image.shape[2]

    def fill(both: np.ndarray, crop_hole: np.ndarray, sub: RunContext) -> np.ndarray:
        crop, smooth = both[..., :channels], both[..., channels:]
        result = smooth.copy()  # alpha stays the network's smooth fill: transparency is not texture
        for group in _colour_groups(channels):
            # One shift map for the colour planes together, so a copied patch keeps its colours.
            copy, passes, unreached = _shift_map_copy(crop[..., group], crop_hole)
            if passes > 1:
                sub.note(
                    "a hole is larger than the picture around it: inpaint-exemplar copied from its own "
                    f"copies ({passes} passes), so its texture repeats"
                    + (f"; {unreached.sum()} pixels it could not reach have none" if unreached.any() else "")
                )
            result[..., group] += _texture(copy, crop[..., group], crop_hole)
        return np.concatenate([result, smooth], axis=-1)

    # The crops carry the network's fill beside the picture, so each region's fill sees both.
    both = np.concatenate([image, structure.astype(image.dtype)], axis=-1)
    filled = yield from fill_regions(both, hole, ctx.sub(0.3, 1.0), fill, context=context, min_size=64)
    return filled[..., :channels]


def _texture(copy: np.ndarray, picture: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The copy's fine scales, no stronger than the picture's own around the hole allow: the edges of a
    foreign object copied in (a zebra's stripes into grass) are damped to the grass's contrast. The
    local strength is the picture's mean |fine scales| spread inward from the known pixels (a
    normalised Gaussian of TEXTURE_REACH pixels); the copy is clipped to TEXTURE_HEADROOM times it."""
    import cv2

    def blur(planes: np.ndarray, sigma: float) -> np.ndarray:
        return cv2.GaussianBlur(planes, (0, 0), sigma).reshape(planes.shape)

    def fine(planes: np.ndarray) -> np.ndarray:
        return planes - blur(planes, TEXTURE_SIGMA)

    known = (~hole).astype(np.float32)
    strength = np.abs(fine(picture.astype(np.float32))) * known[..., None]
    weight = cv2.GaussianBlur(known, (0, 0), TEXTURE_REACH)[..., None]
    overall = strength.sum(axis=(0, 1)) / max(float(known.sum()), 1.0)  # deep inside a wide hole
    local = np.where(weight > 1e-3, blur(strength, TEXTURE_REACH) / np.maximum(weight, 1e-3), overall)
    limit = TEXTURE_HEADROOM * local
    return np.clip(fine(copy), -limit, limit)


def _shift_map_copy(planes: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """(planes (H, W, C) copied by OpenCV contrib's shift-map over the hole and a ring around it, the
    passes that took, the hole's pixels no copy reached, filled smoothly). Shift-map leaves a pixel
    black when no offset within the picture reaches it (a hole taller than the picture left above and
    below it): the data go in shifted up by one, so 0 means not reached, and the next pass copies from
    this pass's copies."""
    import cv2

    ring = np.ones((2 * COPY_RING + 1, 2 * COPY_RING + 1), np.uint8)
    missing = cv2.dilate(hole.astype(np.uint8), ring) > 0
    copy = planes.astype(np.float32)
    passes = 0
    while passes < COPY_PASSES:
        passes += 1
        source = np.where(missing[..., None], 0.0, copy + 1.0).astype(np.float32)
        source = np.ascontiguousarray(source if source.shape[2] > 1 else source[..., 0])
        out = np.zeros_like(source)
        cv2.xphoto.inpaint(
            source, np.where(missing, 0, 255).astype(np.uint8), out, cv2.xphoto.INPAINT_SHIFTMAP
        )
        out = out.reshape(copy.shape) - 1.0
        reached = missing & (out.min(axis=-1) > -0.5)
        if not reached.any():
            break
        copy[reached] = out[reached]
        missing &= ~reached
        if not missing.any():
            break
    for c in range(copy.shape[2] if missing.any() else 0):
        copy[..., c] = np.where(missing, _opencv_plane(copy[..., c], missing), copy[..., c])
    return copy, passes, missing & hole


def _opencv(flag_name: str):
    def run(
        image: np.ndarray, mask: np.ndarray | None, ctx: RunContext, radius: int = 5
    ) -> Generator[Progress, None, np.ndarray]:
        def fill(crop: np.ndarray, crop_hole: np.ndarray, _ctx: RunContext) -> np.ndarray:
            result = np.empty_like(crop)
            for c in range(crop.shape[2]):
                result[..., c] = _opencv_plane(crop[..., c], crop_hole, radius, flag_name)
            return result

        hole = _check(image, mask)
        return (
            yield from fill_regions(image, hole, ctx, fill, context=1.0, min_size=16, margin=2 * radius + 4)
        )

    return run


# --- registration ------------------------------------------------------------------------------------

register(
    MethodCard(
        id="inpaint-learned",
        task="inpaint",
        name="Learned inpainting (FFC, adversarial)",
        kind="learned",
        description="Fills holes with a Fourier-convolution network trained by the project.",
        params=(
            *MASK_PARAMS,
            CONTEXT,
            MAX_SIDE,
            Param("ensemble", False, "average 8 rotated/flipped passes: a smoother, closer fill, 8× slower"),
            THIN_HOLES,
            GRAIN,
        ),
        weights=(WEIGHTS,),
        speed="fast",
        needs_mask=True,
        default=True,
    ),
    _run_learned,
)

register(
    MethodCard(
        id="inpaint-fast",
        variant_of="inpaint-learned",
        task="inpaint",
        name="Fast inpainting (FFC, distilled)",
        kind="learned",
        description=(
            "A slim network distilled from the learned inpainting (the same inputs and layout, about an "
            "eighth of its work per pixel), for speed on a CPU."
        ),
        params=(*MASK_PARAMS, CONTEXT, MAX_SIDE, THIN_HOLES, GRAIN),
        weights=(FAST_WEIGHTS,),
        speed="fast",
        needs_mask=True,
    ),
    _run_fast,
)

register(
    MethodCard(
        id="inpaint-dip",
        task="inpaint",
        name="Deep Image Prior inpainting",
        kind="zero-shot",
        description="Fits an untrained network to the known pixels; any modality, no weights; slow.",
        params=(
            Param("iterations", 1000, "fitting steps per region", 1, 20000),
            Param(
                "preview_every",
                100,
                "show the current fill every N iterations (0 = never)",
                0,
                10000,
                zero_means="never",
            ),
            Param("width", 32, "channels of the network (wider: slower)", 8, 256),
            Param("lr", 0.01, "learning rate", 1e-4, 0.1),
            *MASK_PARAMS,
        ),
        speed="slow",
        needs_mask=True,
    ),
    _run_dip,
)

register(
    MethodCard(
        id="inpaint-exemplar",
        task="inpaint",
        name="Exemplar inpainting (copied texture)",
        kind="learned",
        description=(
            "The learned fill's shapes and colours with fine texture copied from the rest of the picture "
            "(OpenCV contrib's shift-map, He & Sun 2012): grain, foliage, hair and fabric stay textured in "
            "large holes where the learned fill alone is smooth; a copied object can leave a faint outline, "
            "and the texture repeats in holes larger than the picture around them. Not for scans: it can "
            "copy anatomy from elsewhere."
        ),
        params=(
            *MASK_PARAMS,
            Param(
                "context", 3.0, "picture around each region to copy from, as a multiple of its size", 1.2, 8.0
            ),
        ),
        weights=(WEIGHTS,),
        speed="medium",
        needs_mask=True,
        copies_texture=True,
    ),
    _run_exemplar,
)

register(
    MethodCard(
        id="inpaint-biharmonic",
        scan_default=True,
        task="inpaint",
        name="Biharmonic inpainting",
        kind="classical",
        description="Smoothest continuation of the surroundings (scikit-image); good for thin scratches.",
        params=MASK_PARAMS,
        speed="medium",
        needs_mask=True,
    ),
    _run_biharmonic,
)

register(
    MethodCard(
        id="inpaint-telea",
        task="inpaint",
        name="Telea inpainting",
        kind="classical",
        description="Fast marching from the hole's edge (OpenCV, Telea 2004).",
        params=(Param("radius", 5, "neighbourhood radius in pixels", 1, 50), *MASK_PARAMS),
        speed="fast",
        needs_mask=True,
    ),
    _opencv("INPAINT_TELEA"),
)

register(
    MethodCard(
        id="inpaint-ns",
        task="inpaint",
        name="Navier-Stokes inpainting",
        kind="classical",
        description="Continues isophotes into the hole (OpenCV, Bertalmio et al. 2001).",
        params=(Param("radius", 5, "neighbourhood radius in pixels", 1, 50), *MASK_PARAMS),
        speed="fast",
        needs_mask=True,
    ),
    _opencv("INPAINT_NS"),
)
