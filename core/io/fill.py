"""Decoded frames written straight into the document's float32 array, upright, strip by strip.

A reader allocates the result once (`upright_pixels`) and writes each decoded frame through
`stored_view`, a view of its slot in the file's stored orientation; the orientation is applied by
the view, so there is no float copy of the whole image besides the result itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STRIP_PIXELS = 1 << 20  # a frame is converted to float in strips of about this many pixels
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def upright_pixels(frames: int, height: int, width: int, channels: int, orientation: int) -> np.ndarray:
    """The result array for frames stored `height` x `width` with this EXIF/TIFF orientation."""
    if int(orientation or 1) in (5, 6, 7, 8):  # these turn the image by a quarter
        height, width = width, height
    return np.empty((frames, height, width, channels), dtype=np.float32)


def stored_view(upright: np.ndarray, orientation: int) -> np.ndarray:
    """A view of an upright (H, W, C) frame laid out as the file stores it (the inverse orientation)."""
    views = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=1),
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: np.rot90(a, k=-1),
    }
    view = views.get(int(orientation or 1))
    return view(upright) if view else upright


def to_channels(arr: np.ndarray, c: int) -> np.ndarray:
    """(H, W, c0) samples as (H, W, c): gray is repeated, a missing alpha is opaque (255)."""
    if arr.shape[-1] == c:
        return arr
    rgb = np.repeat(arr[..., :1], 3, axis=-1) if arr.shape[-1] in (1, 2) else arr[..., :3]
    if c == 1:
        return arr[..., :1]
    if c == 4:
        alpha = arr[..., -1:] if arr.shape[-1] in (2, 4) else np.full_like(arr[..., :1], 255)
        return np.concatenate([rgb, alpha], axis=-1)
    return rgb


def fill_strips(target: np.ndarray, rows: Callable[[int, int], np.ndarray]) -> None:
    """Fill `target` (H, W, C) from `rows(start, stop)`, which returns those rows as (n, W, c) samples."""
    height, width = target.shape[:2]
    step = max(1, STRIP_PIXELS // max(width, 1))
    for start in range(0, height, step):
        stop = min(height, start + step)
        target[start:stop] = to_channels(rows(start, stop), target.shape[-1])


def widen(pixels: np.ndarray, channels: int) -> np.ndarray:
    """The same frames with more channels (an animation whose later frames gained colour or alpha)."""
    wider = np.empty((*pixels.shape[:3], channels), dtype=np.float32)
    for i in range(pixels.shape[0]):
        wider[i] = to_channels(pixels[i], channels)
    return wider
