"""Tiled inference with overlap and seam blending, for images of any size.

`run_tiled(fn, image, ctx, scale=1)` calls `fn(tensor)` on (B, C, h, w) batches of equal-sized tiles of
`image` (an (H, W, C) float32 array), blends the outputs with a smooth window so seams are not
measurable, and yields progress after each batch. The tile size comes from `ctx.tile`, else from free
memory; the batch from `ctx.tile_batch`, else one tile per call on a CPU (progress stays lively, and a
CPU gains nothing from batching) and on a GPU as many tiles as a quarter of its free memory holds, so
a 4K frame goes through the network in one or two calls. Running out of memory (CUDA, MPS or the CPU
allocator) retries with smaller batches, then smaller tiles, and finally on the CPU, never a crash.

`fn` must treat the tiles of a batch independently (every network here does in eval mode) and run on
the device of the tensor it is given: after a fall-back to the CPU it gets CPU tensors.
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
GPU_SMALLEST_TILE = 256  # a GPU plan never goes below this: smaller tiles spend most work on overlaps


def _budget(device: torch.device, limit_mb: int) -> int:
    """Bytes of activations a run may use: a quarter of the free memory, capped by `limit_mb`."""
    budget = free_memory_bytes(device) // 4
    return min(budget, limit_mb << 20) if limit_mb else budget


def choose_tile(
    device: torch.device,
    channels: int,
    bytes_per_pixel_per_channel: int = DEFAULT_PIXEL_BYTES,
    limit_mb: int = 0,
) -> int:
    """A tile edge (multiple of 64) whose activations fit in a quarter of the free memory."""
    side = int((_budget(device, limit_mb) / (bytes_per_pixel_per_channel * max(channels, 1))) ** 0.5)
    # On a CPU memory rarely binds but time does: a 640-pixel tile of the shipped networks takes
    # seconds, so progress stays lively; larger tiles would only save a little overlap.
    cap = 2048 if device.type != "cpu" else 640
    return int(max(128, min(cap, side)) // 64 * 64)


def plan_tiles(
    device: torch.device,
    height: int,
    width: int,
    channels: int,
    overlap: int,
    bytes_per_pixel_per_channel: int = DEFAULT_PIXEL_BYTES,
    limit_mb: int = 0,
    tile: int = 0,
) -> tuple[int, int]:
    """(tile edge, tiles per network call) for an image: on a CPU the largest tile that fits and one tile
    per call; on a GPU the tile, from the largest that fits down to GPU_SMALLEST_TILE, needing the fewest
    calls with a batch as large as the memory budget holds (then the fewest pixels computed, overlaps
    included), so a 4K frame goes in one call where memory allows. `tile`: a size chosen by the user."""
    per_pixel = bytes_per_pixel_per_channel * max(channels, 1)
    largest = tile or choose_tile(device, channels, bytes_per_pixel_per_channel, limit_mb)
    if device.type == "cpu":
        return largest, 1
    budget = _budget(device, limit_mb)
    best: tuple[tuple[int, int], int, int] | None = None
    for side in [largest] if tile else range(largest, min(largest, GPU_SMALLEST_TILE) - 1, -64):
        count = len(tile_corners(height, width, side, overlap)[0])
        batch = max(1, min(count, budget // (per_pixel * side * side)))
        cost = (-(-count // batch), count * min(side, height) * min(side, width))  # calls, pixels
        if best is None or cost < best[0]:
            best = (cost, side, batch)
    return best[1], best[2]


def tile_corners(
    height: int, width: int, tile: int, overlap: int
) -> tuple[list[tuple[int, int]], int, int, int]:
    """The top-left corners of the tiles covering an image, the tile's height and width, and the overlap
    used; every tile has the same size, so any of them stack into a batch."""
    tile_h, tile_w = min(tile, height), min(tile, width)
    overlap = min(overlap, tile // 4)
    ys = _starts(height, tile_h, tile_h - 2 * overlap if tile_h > 2 * overlap else tile_h)
    xs = _starts(width, tile_w, tile_w - 2 * overlap if tile_w > 2 * overlap else tile_w)
    return [(y, x) for y in ys for x in xs], tile_h, tile_w, overlap


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
    height, width, channels = image.shape
    tile, batch = plan_tiles(
        device, height, width, channels, overlap, pixel_bytes, ctx.memory_limit_mb, tile=ctx.tile
    )
    tile, batch = max(int(tile), MIN_TILE), ctx.tile_batch or batch
    while True:
        try:
            result = yield from _run(fn, image, ctx, scale, overlap, device, dtype, tile, batch, message)
            return result
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            _release(device)
            if batch > 1:
                batch //= 2
                note = f"out of memory: retrying with {batch} tiles per call"
            elif tile > 2 * MIN_TILE and tile > overlap * 4:
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


def _run(fn, image, ctx, scale, overlap, device, dtype, tile, batch, message):
    height, width, _channels = image.shape
    corners, tile_h, tile_w, overlap = tile_corners(height, width, tile, overlap)
    out = None
    weight = np.zeros((height * scale, width * scale, 1), np.float32)
    total = len(corners)
    done = 0
    for first in range(0, total, batch):
        ctx.check_cancelled()
        group = corners[first : first + batch]
        stack = np.stack([image[y : y + tile_h, x : x + tile_w].transpose(2, 0, 1) for y, x in group])
        tensor = torch.from_numpy(np.ascontiguousarray(stack))
        with torch.inference_mode():
            preds = fn(tensor.to(device=device, dtype=dtype)).float().cpu().numpy().transpose(0, 2, 3, 1)
        for (y, x), pred in zip(group, preds):
            if out is None:
                out = np.zeros((height * scale, width * scale, pred.shape[2]), np.float32)
            w = _blend_weights(
                pred.shape[:2], overlap * scale, y == 0, y + tile_h >= height, x == 0, x + tile_w >= width
            )
            oy, ox = y * scale, x * scale
            out[oy : oy + pred.shape[0], ox : ox + pred.shape[1]] += pred * w
            weight[oy : oy + pred.shape[0], ox : ox + pred.shape[1]] += w
        done += len(group)
        yield ctx.progress(done / total, f"{message} {done}/{total}")
    out /= np.maximum(weight, 1e-8)
    return out


def _blend_weights(shape, ramp: int, top: bool, bottom: bool, left: bool, right: bool) -> np.ndarray:
    """(h, w, 1) weights of one tile's output: ramped only on edges shared with a neighbour tile;
    image borders take full weight."""
    wy, wx = _window(shape[0], ramp), _window(shape[1], ramp)
    if top:
        wy[: len(wy) // 2] = 1.0
    if bottom:
        wy[len(wy) // 2 :] = 1.0
    if left:
        wx[: len(wx) // 2] = 1.0
    if right:
        wx[len(wx) // 2 :] = 1.0
    return (wy[:, None] * wx[None, :])[..., None]
