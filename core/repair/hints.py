"""What a person should know when a repair did less than they will expect, said once after the run."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.methods.modality import is_ct

FINEST_GRAIN_HU = 1.0  # an estimated σ below this on a CT is the pixel-scale grain only
BODY_HU = -500.0  # air and padding below this: the change that matters is in the body


def fine_noise(task: str, document: Any, result: Any, params: dict[str, Any], frames=None) -> str | None:
    """A CT denoised with an estimated σ under 1 HU: the estimate measures the finest grain, which a
    reconstruction kernel smooths away, so the denoiser changes the scan by a fraction of a HU while
    its coarser grain (about 3-4 HU on the shared head CT) stays. Says how much changed and how to ask
    for more."""
    if task != "denoise" or not params.get("sigma_estimated") or not is_ct(document):
        return None
    sigma = float(params.get("sigma", 0.0))
    if sigma >= FINEST_GRAIN_HU or result.pixels.shape != document.pixels.shape:
        return None
    done = slice(None) if frames is None else sorted(set(frames))  # the slices it ran on, not the others
    before, after = document.pixels[done], result.pixels[done]
    body = before > BODY_HU
    if not body.any():
        return None
    change = float(np.abs(after[body] - before[body]).mean())
    return (
        f"the noise estimated at the pixel scale is {sigma:.2g} HU, so the scan changed by {change:.2g} HU"
        " on average: CT reconstruction smooths noise into a coarser grain this estimate does not"
        " see; to smooth more, set sigma to a few HU (3, say; --param sigma=3 on the command line)"
        " and compare"
    )


CLEAN_PHOTO_SIGMA = 1.0  # on the 0-255 scale: below this a photo's noise is not what a person sees


def photo_noise(task: str, document: Any, params: dict[str, Any]) -> str | None:
    """A photo denoised with an estimated σ: the estimate said (it was only in the record), and under
    1 of 255 that the picture looks clean, since the learned denoisers still smooth fine detail there
    (McMaster 1.png, σ 0.18 estimated: 2.7 levels on average, 16 at the 99th percentile)."""
    if task != "denoise" or not params.get("sigma_estimated") or getattr(document, "kind", "") != "image":
        return None
    sigma = float(params.get("sigma", 0.0))
    from core.methods.noise_level import can_estimate

    _, height, width, channels = document.pixels.shape
    if not can_estimate(height, width, min(channels, 3)):  # a walk-through's 16×16 read "looks clean"
        return f"a {width}×{height} picture is too small to tell its noise from: set sigma (0-255 scale)"
    said = f"noise σ estimated at {sigma:.2g} on the 0-255 scale (the sigma parameter sets it)"
    if sigma < CLEAN_PHOTO_SIGMA:
        said += "; the picture looks clean, and denoising still smooths its fine detail: compare the two"
    return said


UNBLOCKED = 1.05  # blocking score below this: no sign of JPEG's 8×8 grid (measured in `no_blocking`)


def no_blocking(task: str, document: Any) -> str | None:
    """dejpeg asked of a picture that is not a JPEG file and shows no 8×8 blocking: said, since the
    network then only smooths detail (a walk-through's never-compressed PNG changed by 47 dB). The
    score is the block-edge ratio at the grid's own phase over its median across the 64 phases (a
    crop after compression shifts the grid): on Set14 and LIVE1 pictures 1.02-1.07 (1.15-1.39 for the
    ones taken from compressed video), saved at JPEG quality 30 and cropped 1.35-2.14, at quality 75
    1.06-1.49. Below 1.05 only: a picture near the edge is left unsaid rather than wrongly told."""
    if task != "dejpeg" or getattr(document, "kind", "") != "image" or document.format == "JPEG":
        return None
    from core.blocking import blockiness

    lo, hi = document.value_range  # 8-bit, 16-bit or float pictures alike, on the 0-255 scale
    frame = np.asarray(document.pixels[0, :520, :520], np.float32)  # bounded cost
    frame = np.clip((frame - lo) * (255.0 / ((hi - lo) or 1.0)), 0, 255)
    frame = frame[..., :3] if frame.shape[-1] >= 3 else np.repeat(frame[..., :1], 3, axis=-1)
    rgb = np.rint(frame).astype(np.uint8)
    ratios = np.array([blockiness(np.ascontiguousarray(rgb[dy:, dx:])) for dy in range(8) for dx in range(8)])
    if not np.isfinite(ratios).all():  # a flat picture says nothing either way
        return None
    score = float(ratios.max() / np.median(ratios))
    if score >= UNBLOCKED:
        return None
    return (
        f"this picture shows no sign of JPEG blocking (score {score:.2f}: about 1.02-1.07 for pictures"
        " never JPEG-compressed, 1.35 and above at quality 30); dejpeg then only smooths its detail"
    )


WIDE_HOLE_PX = 48  # across: where a smooth fill shows as a blur patch in a textured picture
HINT_SIDE = 1024  # the hole is measured on at most this many pixels a side (then doubled)


def _takes_grain(method_id: str) -> bool:
    """A fill that takes `grain` is one that comes back smooth (the learned ones): their cards say so."""
    from core.errors import MethodError
    from core.methods import get_method

    try:
        return any(param.name == "grain" for param in get_method(method_id).card.params)
    except MethodError:
        return False


def smooth_fill(method_id: str, document: Any, mask: Any, grain: float = 0.0) -> str | None:
    """A learned fill of a photo's wide hole: said that it comes back smooth and what copies texture
    (and, when it had none, that `grain` adds grain).
    On 10 training pictures (color432) its fills carried 0.30 of the lost detail at 48-pixel holes
    and 0.19 at 96 (mean gradient magnitude, core.bench.metrics.detail_ratio); inpaint-exemplar's
    0.73-0.88."""
    if not _takes_grain(method_id) or getattr(document, "kind", "") != "image" or mask is None:
        return None
    import cv2

    hole = (np.asarray(mask) != 0).reshape(-1, *np.shape(mask)[-2:]).any(axis=0)
    scale = min(1.0, HINT_SIDE / max(hole.shape))  # a bounded cost on a 40000-pixel scan
    if scale < 1.0:
        size = (max(1, round(hole.shape[1] * scale)), max(1, round(hole.shape[0] * scale)))
        hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
    if hole.all():  # nothing outside it to measure against (the methods refuse such a mask)
        return None
    # The picture's edge bounds a hole as its known pixels do (OpenCV measures past it otherwise).
    bounded = cv2.copyMakeBorder(hole.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    # Measured on the hole doubled: W pixels across become 2W, whose middle lies W from the known
    # pixels, odd W or even (at the hole's own size a 70-pixel side read as 69, a 71-pixel one as 71).
    doubled = cv2.resize(bounded, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    across = round(float(cv2.distanceTransform(doubled, cv2.DIST_L2, 5).max()) / scale)
    if across < WIDE_HOLE_PX:
        return None
    return (
        f"the widest hole is about {across} pixels across: the learned fill comes back smooth inside holes"
        " this wide; exemplar inpainting (inpaint-exemplar) copies texture from the rest of the picture"
        " instead (compare the two)"
        + ("" if grain else "; grain 1 (--param grain=1) adds grain like the picture's to the learned fill")
    )
