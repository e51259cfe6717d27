"""JPEG artifact removal: the shipped quality-blind networks and a classical deblocking filter.

Both work on decoded pixels, so they apply as well to DICOM files stored with lossy JPEG (transfer
syntaxes 1.2.840.10008.1.2.4.50/.51) as to .jpg photos. The JPEG block grid starts at the image
origin; the methods keep it there (padding only at the bottom and right, tiles on multiples of 8).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Generator

import numpy as np

from core.io.fill import stored_view
from core.jpeg import BLOCK, blocks, estimate_quality, grid_layout, luma_table, unblocks
from core.luma import luma_of
from core.methods.registry import MethodCard, Param, register
from core.runtime.context import Progress, RunContext

GRAY_WEIGHTS = "dejpeg-gray.safetensors"
COLOR_WEIGHTS = "dejpeg-color.safetensors"
FAST_WEIGHTS = "dejpeg-fast-gray.safetensors"  # distilled from GRAY_WEIGHTS; color: plane by plane


def jpeg_roundtrip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode an (H, W) or (H, W, 3) uint8 array with Pillow (libjpeg, default settings)."""
    from PIL import Image

    mode = "L" if pixels.ndim == 2 else "RGB"
    buf = io.BytesIO()
    Image.fromarray(pixels, mode).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert(mode), np.uint8)


def _split(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(color or gray planes, alpha or None, whether the picture is gray) of an (H, W, C) image."""
    channels = image.shape[2]
    alpha = image[..., -1:] if channels in (2, 4) else None
    planes = image[..., :3] if channels >= 3 else image[..., :1]
    gray = planes.shape[2] == 1 or (
        np.array_equal(planes[..., 0], planes[..., 1]) and np.array_equal(planes[..., 0], planes[..., 2])
    )
    return planes, alpha, gray


def _join(result: np.ndarray, alpha: np.ndarray | None, channels: int) -> np.ndarray:
    if result.shape[2] == 1 and channels >= 3:
        result = np.repeat(result, 3, axis=2)
    if alpha is not None:
        result = np.concatenate([result, alpha], axis=2)
    return result.astype(np.float32)


def _grid_aligned(ctx: RunContext) -> RunContext:
    """A context whose tile size keeps every tile start on the 8x8 block grid."""
    if not ctx.tile:
        return ctx  # automatic tiles are multiples of 64
    return dataclasses.replace(ctx, tile=max(64, ctx.tile // 16 * 16))


def run_learned(image: np.ndarray, mask, ctx: RunContext) -> Generator[Progress, None, np.ndarray]:
    return (yield from _run_network(image, ctx, GRAY_WEIGHTS, COLOR_WEIGHTS))


def run_fast(image: np.ndarray, mask, ctx: RunContext) -> Generator[Progress, None, np.ndarray]:
    return (yield from _run_network(image, ctx, FAST_WEIGHTS, None))


def _run_network(
    image: np.ndarray, ctx: RunContext, gray_weights: str, color_weights: str | None
) -> Generator[Progress, None, np.ndarray]:
    """A shipped network over grid-aligned tiles; without color weights, color planes go one by one
    through the gray network."""
    import torch

    from core.archs import cached_weights
    from core.archs.needs import needs_of
    from core.methods import weights
    from core.runtime.backends import NetworkCall, network, plane_by_plane
    from core.runtime.tiling import run_tiled

    planes, alpha, gray = _split(image)
    source = planes[..., :1] if gray else planes
    path, by_plane = weights.gray_or_color(gray, gray_weights, color_weights)
    needs = needs_of(cached_weights(path, ctx.torch_device())[0])
    yield ctx.progress(0.0, "network loaded")
    net = network(NetworkCall(path, ("image",), calibrate=compressed_for(gray or by_plane)), ctx)
    if by_plane:
        net = plane_by_plane(net)

    def fn(tile):
        return net(tile.float())

    height, width = source.shape[:2]
    padded = np.pad(source, ((0, (-height) % BLOCK), (0, (-width) % BLOCK), (0, 0)), mode="edge")
    out = yield from run_tiled(
        fn,
        padded,
        _grid_aligned(ctx),
        overlap=needs.overlap,
        dtype=torch.float32,
        message="JPEG artifacts, tile",
    )
    return _join(np.clip(out[:height, :width], 0.0, 1.0), alpha, image.shape[2])


def compressed_for(gray: bool, quality: int = 20):
    """A clean RGB crop -> the network's input for it: JPEG at `quality` (int8 calibration)."""

    def inputs(clean: np.ndarray) -> list[tuple[np.ndarray]]:
        pixels = np.round(np.clip(clean, 0, 1) * 255).astype(np.uint8)
        pixels = np.round(pixels.mean(axis=2)).astype(np.uint8) if gray else pixels
        decoded = jpeg_roundtrip(pixels, quality).astype(np.float32) / 255.0
        planes = decoded[..., None] if decoded.ndim == 2 else decoded
        return [(np.ascontiguousarray(planes.transpose(2, 0, 1)[None]),)]

    return inputs


# --- classical baseline: re-application of JPEG (Nosratinia 2001) ------------------------------


def _requantize(plane255: np.ndarray, table: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """JPEG-quantize the plane on a block grid shifted by (dy, dx), and decode it."""
    from scipy.fft import dctn, idctn

    h, w = plane255.shape
    pad = ((dy, (-(h + dy)) % BLOCK), (dx, (-(w + dx)) % BLOCK))
    coef = dctn(blocks(np.pad(plane255 - 128.0, pad, mode="symmetric")), axes=(2, 3), norm="ortho")
    coef = np.round(coef / table) * table
    return unblocks(idctn(coef, axes=(2, 3), norm="ortho"))[dy : dy + h, dx : dx + w] + 128.0


def reapply_jpeg(
    plane255: np.ndarray, quality: int, ctx: RunContext
) -> Generator[Progress, None, np.ndarray]:
    """Average of the image re-compressed on all 64 shifts of the block grid (Nosratinia 2001).

    Blocking and ringing depend on where the grid falls, the picture does not: averaging the shifted
    re-compressions keeps what is consistent with the quantization and smooths the artifacts.
    """
    table = luma_table(quality)
    total = np.zeros_like(plane255)
    for n in range(BLOCK * BLOCK):
        total += _requantize(plane255, table, n // BLOCK, n % BLOCK)
        yield ctx.progress((n + 1) / (BLOCK * BLOCK), f"re-applying JPEG: shift {n + 1}/64")
    return total / (BLOCK * BLOCK)


def run_reapply(
    image: np.ndarray, mask, ctx: RunContext, quality: int = 0
) -> Generator[Progress, None, np.ndarray]:
    """Gray images as they are; color images on luma (BT.601), chroma kept."""
    planes, alpha, gray = _split(image)
    luma = planes[..., 0].astype(np.float64) if gray else luma_of(planes, np.float64)  # gray: its own
    plane = luma * 255.0
    orientation, found = grid_layout(plane)  # the grid of a picture stored turned is turned too
    quality = quality or found or estimate_quality(plane)  # the middle may be too flat to tell
    if quality is None:
        yield ctx.progress(1.0, "no JPEG quantization found (give the quality); image left as it is")
        return image.astype(np.float32)
    restored = np.empty_like(luma)
    stored = yield from reapply_jpeg(stored_view(plane[..., None], orientation)[..., 0], int(quality), ctx)
    stored_view(restored[..., None], orientation)[..., 0] = stored / 255.0
    if gray:
        result = restored[..., None]
    else:
        result = planes + (restored - luma)[..., None]  # same luma change on R, G, B keeps chroma
    return _join(np.clip(result, 0.0, 1.0), alpha, image.shape[2])


register(
    MethodCard(
        id="dejpeg-learned",
        task="dejpeg",
        name="Learned JPEG artifact removal",
        kind="learned",
        description=(
            "Residual encoder-decoder networks trained by Lacuna on JPEG qualities 10-90 (the quality "
            "need not be known): gray images use the gray model, color images the color model. Works on "
            "decoded pixels, so also on DICOM files stored with lossy JPEG."
        ),
        weights=(GRAY_WEIGHTS, COLOR_WEIGHTS),
        speed="medium",
        default=True,
    ),
    run_learned,
)

register(
    MethodCard(
        id="dejpeg-fast",
        variant_of="dejpeg-learned",
        task="dejpeg",
        name="Fast JPEG artifact removal",
        kind="learned",
        description=(
            "A small network distilled from the learned gray model (the same layout, about an eighth of "
            "its work per pixel), for speed on a CPU; color images plane by plane."
        ),
        weights=(FAST_WEIGHTS,),
        speed="fast",
    ),
    run_fast,
)

register(
    MethodCard(
        id="dejpeg-reapply",
        scan_default=True,
        task="dejpeg",
        name="Re-application of JPEG",
        kind="classical",
        description=(
            "Classical deblocking (Nosratinia 2001): the JPEG quality is estimated from the image's "
            "quantization (or given), and the image is re-compressed on all 64 shifts of the 8x8 grid "
            "and averaged. Works on luma; images without standard JPEG tables are left as they are."
        ),
        speed="medium",
        params=(
            Param(
                "quality",
                0,
                "JPEG quality used (0 = estimate it from the image)",
                0,
                100,
                zero_means="estimate",
            ),
        ),
    ),
    run_reapply,
)
