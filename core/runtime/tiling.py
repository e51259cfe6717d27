"""Tiled inference with overlap and seam blending, for images of any size.

`run_tiled(fn, image, ctx, scale=1)` calls `fn(tensor)` on (1, C, h, w) tiles of `image` (an (H, W, C)
float32 array), blends the outputs with a smooth window so seams are not measurable, and yields progress
after each tile. The tile size comes from `ctx.tile`, else from free memory. Running out of memory
(CUDA, MPS or the CPU allocator) retries with smaller tiles and finally on the CPU, never a crash.

`fn` must run on the device of the tensor it is given: after a fall-back to the CPU it gets CPU tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import torch

from core.errors import MethodError
from core.runtime.context import MIN_TILE, Progress, RunContext
from core.runtime.device import free_memory_bytes

TensorFn = Callable[[torch.Tensor], torch.Tensor]

# Activation memory per input pixel and channel assumed when a method gives no figure: generous for
# the shipped networks (a 64-wide UNet needs about 1.5 kB per pixel at inference).
DEFAULT_PIXEL_BYTES = 4096


def choose_tile(
    device: torch.device,
    channels: int,
    bytes_per_pixel_per_channel: int = DEFAULT_PIXEL_BYTES,
    limit_mb: int = 0,
) -> int:
    """A tile edge (multiple of 64) whose activations fit in a quarter of the free memory."""
    budget = free_memory_bytes(device) // 4
    if limit_mb:
        budget = min(budget, limit_mb << 20)
    side = int((budget / (bytes_per_pixel_per_channel * max(channels, 1))) ** 0.5)
    # On a CPU memory rarely binds but time does: a 640-pixel tile of the shipped networks takes
    # seconds, so progress stays lively; larger tiles would only save a little overlap.
    cap = 2048 if device.type != "cpu" else 640
    return int(max(128, min(cap, side)) // 64 * 64)


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA raises OutOfMemoryError; the CPU and MPS allocators raise a RuntimeError saying so."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _release(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def _window(size: int, overlap: int) -> np.ndarray:
    """1-D blending weights: flat in the middle, raised-cosine ramps over the overlap."""
    w = np.ones(size, np.float32)
    ramp = min(overlap, size // 2)
    if ramp > 0:
        t = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp
        w[:ramp] = 0.5 - 0.5 * np.cos(np.pi * t)
        w[-ramp:] = w[:ramp][::-1]
    return w


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def run_tiled(
    fn: TensorFn,
    image: np.ndarray,
    ctx: RunContext,
    scale: int = 1,
    overlap: int = 32,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    message: str = "tile",
    pixel_bytes: int = DEFAULT_PIXEL_BYTES,
) -> Generator[Progress, None, np.ndarray]:
    """Apply `fn` tile by tile; returns the (H*scale, W*scale, C') float32 result.

    `pixel_bytes`: the method's activation memory per input pixel and channel, for the tile size.
    """
    device = device or ctx.torch_device()
    tile = ctx.tile or choose_tile(device, image.shape[2], pixel_bytes, ctx.memory_limit_mb)
    tile = max(int(tile), MIN_TILE)
    while True:
        try:
            result = yield from _run(fn, image, ctx, scale, overlap, device, dtype, tile, message)
            return result
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            _release(device)
            if tile > 2 * MIN_TILE and tile > overlap * 4:
                tile = max(MIN_TILE, tile // 2)
                note = f"out of memory: retrying with {tile}-pixel tiles"
            elif device.type != "cpu":
                device, dtype = torch.device("cpu"), torch.float32
                note = "out of memory on the GPU: continuing on the CPU"
                ctx.note(note)
            else:
                raise MethodError(
                    f"not enough memory even for {tile}-pixel tiles on the CPU; close other programs"
                ) from exc
            yield ctx.progress(0.0, note)


def _run(fn, image, ctx, scale, overlap, device, dtype, tile, message):
    height, width, channels = image.shape
    tile_h, tile_w = min(tile, height), min(tile, width)
    overlap = min(overlap, tile // 4)
    ys = _starts(height, tile_h, tile_h - 2 * overlap if tile_h > 2 * overlap else tile_h)
    xs = _starts(width, tile_w, tile_w - 2 * overlap if tile_w > 2 * overlap else tile_w)
    out = None
    weight = np.zeros((height * scale, width * scale, 1), np.float32)
    total = len(ys) * len(xs)
    done = 0
    for y in ys:
        for x in xs:
            ctx.check_cancelled()
            patch = image[y : y + tile_h, x : x + tile_w]
            tensor = torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)))[None]
            with torch.inference_mode():
                pred = fn(tensor.to(device=device, dtype=dtype)).float().cpu()[0].numpy().transpose(1, 2, 0)
            if out is None:
                out = np.zeros((height * scale, width * scale, pred.shape[2]), np.float32)
            wy = _window(pred.shape[0], overlap * scale)
            wx = _window(pred.shape[1], overlap * scale)
            # Image borders take full weight: only edges shared with a neighbour tile are ramped.
            if y == 0:
                wy[: len(wy) // 2] = 1.0
            if y + tile_h >= height:
                wy[len(wy) // 2 :] = 1.0
            if x == 0:
                wx[: len(wx) // 2] = 1.0
            if x + tile_w >= width:
                wx[len(wx) // 2 :] = 1.0
            w = (wy[:, None] * wx[None, :])[..., None]
            oy, ox = y * scale, x * scale
            out[oy : oy + pred.shape[0], ox : ox + pred.shape[1]] += pred * w
            weight[oy : oy + pred.shape[0], ox : ox + pred.shape[1]] += w
            done += 1
            yield ctx.progress(done / total, f"{message} {done}/{total}")
    out /= np.maximum(weight, 1e-8)
    return out
