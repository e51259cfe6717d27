"""MATLAB-compatible bicubic `imresize` (with antialiasing), in numpy, and the same kernel in torch.

The super-resolution literature makes its low-resolution inputs with MATLAB's `imresize(img, 1/s,
'bicubic')`: Keys' cubic kernel with a = -0.5, stretched by 1/scale when down-sampling (antialiasing),
MATLAB's mapping of output to input coordinates, and mirrored (half-sample symmetric) borders.
PIL's and OpenCV's bicubic differ (other a, other borders, no antialiasing in OpenCV), which shifts
PSNR figures by tenths of a dB, so the benchmarks use this module.

`imresize` works on numpy arrays of any size. `torch_downsample` / `torch_upsample` apply the very same
weights (taken from `contributions`) as separable convolutions, for integer factors on the GPU:
training batches and the bicubic base of the networks. Computation is in float; callers round.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def contributions(
    in_len: int, out_len: int, scale: float, antialias: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB's resampling weights: (weights (out_len, P), 0-based input indices (out_len, P)).

    Output pixel u (1-based) sits at input coordinate u / scale + (1 - 1 / scale) / 2. Down-sampling
    with antialiasing stretches the kernel by 1 / scale. Weights are normalised per output pixel before
    out-of-range indices are mirrored (1..n, n..1, ...), as MATLAB does.
    """
    if scale < 1 and antialias:
        width = 4.0 / scale

        def kernel(t):
            return scale * cubic(scale * t)
    else:
        width = 4.0
        kernel = cubic
    u = np.arange(1, out_len + 1, dtype=np.float64)
    x = u / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(x - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = kernel(x[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, mirror.size)]
    used = np.any(weights != 0, axis=0)
    return weights[:, used], indices[:, used]


def output_length(in_len: int, scale: float) -> int:
    """MATLAB's ceil(scale * n), guarded against 1/3 * 99 = 33.000000000000004."""
    return int(math.ceil(in_len * scale - 1e-9))


def _resize_axis(image: np.ndarray, axis: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    weights, indices = contributions(image.shape[axis], out_len, scale, antialias)
    shape = [1] * image.ndim
    shape[axis] = out_len
    out = np.zeros(image.shape[:axis] + (out_len,) + image.shape[axis + 1 :], np.float64)
    for k in range(weights.shape[1]):  # one tap at a time keeps memory at one output-sized array
        out += weights[:, k].reshape(shape) * np.take(image, indices[:, k], axis=axis)
    return out


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) array like MATLAB's imresize(image, scale, 'bicubic').

    Give `scale` (MATLAB then makes ceil(scale * size) pixels) or `output_shape` (H, W). Returns
    float64 without rounding or clipping (MATLAB rounds uint8 input; round yourself where needed).
    """
    image = np.asarray(image, np.float64)
    h, w = image.shape[:2]
    if output_shape is None:
        if scale is None:
            raise ValueError("imresize needs a scale or an output shape")
        scales = (float(scale), float(scale))
        output_shape = (output_length(h, scale), output_length(w, scale))
    else:
        scales = (output_shape[0] / h, output_shape[1] / w)
    # MATLAB resizes along the dimension with the smaller scale first (it matters only for rounding).
    order = (0, 1) if scales[0] <= scales[1] else (1, 0)
    out = image
    for axis in order:
        out = _resize_axis(out, axis, output_shape[axis], scales[axis], antialias)
    return out


# --- the same kernel as torch convolutions (integer factors) -------------------------------------


@cache
def down_kernel(factor: int) -> tuple[np.ndarray, int]:
    """Taps of the 1/factor antialiased kernel and the offset of the first tap.

    Output pixel j (0-based) is sum_k taps[k] * input[factor * j + first + k] (mirrored at borders).
    Read off an interior row of `contributions`, so it is MATLAB's kernel by construction.
    """
    n_out = 16
    weights, indices = contributions(n_out * factor, n_out, 1.0 / factor)
    row = n_out // 2
    offsets = indices[row] - factor * row
    first = int(offsets.min())
    taps = np.zeros(int(offsets.max()) - first + 1)
    np.add.at(taps, offsets - first, weights[row])
    return taps, first


@cache
def up_kernels(factor: int) -> tuple[np.ndarray, int]:
    """Per-phase taps (factor, T) of the x`factor` cubic kernel and the offset of the first tap.

    Output pixel factor * i + p is sum_k taps[p, k] * input[i + first + k].
    """
    n_in = 16
    weights, indices = contributions(n_in, n_in * factor, float(factor))
    row = n_in // 2
    rows = range(factor * row, factor * row + factor)
    offsets = [indices[r] - row for r in rows]
    first = int(min(o.min() for o in offsets))
    last = int(max(o.max() for o in offsets))
    taps = np.zeros((factor, last - first + 1))
    for p, r in enumerate(rows):
        np.add.at(taps[p], offsets[p] - first, weights[r])
    return taps, first


def _mirrored(x, start: int, stop: int):
    """x[..., start:stop] with indices outside the signal mirrored like MATLAB (`_mirror_index`).

    Margins no longer than the signal are flipped slices: the same values, and exportable to ONNX with
    symbolic sizes (the index form needs a remainder by a symbolic length, which the exporter lacks).
    """
    import torch

    length = x.shape[-1]
    before, after = max(-start, 0), max(stop - length, 0)
    if before > length or after > length:
        return x[..., _mirror_index(length, start, stop).to(x.device)]
    parts = [x[..., :before].flip(-1), x, x[..., length - after :].flip(-1)]
    return torch.cat(parts, dim=-1)[..., start + before : stop + before]


def _mirror_index(length: int, start: int, stop: int):
    """Indices start..stop-1 into a signal of `length`, mirrored like MATLAB (1..n, n..1, ...)."""
    import torch

    mirror = torch.cat([torch.arange(length), torch.arange(length - 1, -1, -1)])
    return mirror[torch.remainder(torch.arange(start, stop), 2 * length)]


def _last_axis(x, factor: int, down: bool):
    """Resample the last axis of x (..., L) by an integer factor.

    A weighted sum of shifted (strided, when down-sampling) views of the mirrored signal: the same
    as a 1-D convolution, but much faster than conv1d with one input channel, on CPUs especially.
    """
    import torch

    length = x.shape[-1]
    if down:
        taps, first = down_kernel(factor)
        out_len = output_length(length, 1.0 / factor)
        stop = factor * (out_len - 1) + first + len(taps)
        padded = _mirrored(x, first, stop)
        span = factor * (out_len - 1) + 1
        out = sum(float(w) * padded[..., k : k + span : factor] for k, w in enumerate(taps) if w != 0)
        return out
    taps, first = up_kernels(factor)
    stop = length + first + taps.shape[1] - 1
    padded = _mirrored(x, first, stop)
    phases = [
        sum(float(w) * padded[..., k : k + length] for k, w in enumerate(row) if w != 0) for row in taps
    ]
    return torch.stack(phases, dim=-1).reshape(*x.shape[:-1], length * factor)


def _resample(x, factor: int, down: bool):
    import torch

    with torch.autocast(x.device.type, enabled=False):
        dtype = x.dtype if x.dtype == torch.float64 else torch.float32
        y = _last_axis(x.to(dtype), factor, down)  # along W
        y = _last_axis(y.transpose(-1, -2), factor, down).transpose(-1, -2)  # along H
    return y.contiguous()


def torch_downsample(x, factor: int):
    """MATLAB bicubic down-sampling of (..., H, W) tensors by an integer factor (float32 or float64)."""
    return x if factor == 1 else _resample(x, factor, down=True)


def torch_upsample(x, factor: int):
    """MATLAB bicubic up-sampling of (..., H, W) tensors by an integer factor (float32 or float64)."""
    return x if factor == 1 else _resample(x, factor, down=False)
