"""What a person should know when a repair did less than they will expect, said once after the run."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.methods.modality import is_ct

FINEST_GRAIN_HU = 1.0  # an estimated σ below this on a CT is the pixel-scale grain only
BODY_HU = -500.0  # air and padding below this: the change that matters is in the body


def fine_noise(task: str, document: Any, result: Any, params: dict[str, Any]) -> str | None:
    """A CT denoised with an estimated σ under 1 HU: the estimate measures the finest grain, which a
    reconstruction kernel smooths away, so the denoiser changes the scan by a fraction of a HU while
    its coarser grain (about 3-4 HU on the shared head CT) stays. Says how much changed and how to ask
    for more."""
    if task != "denoise" or not params.get("sigma_estimated") or not is_ct(document):
        return None
    sigma = float(params.get("sigma", 0.0))
    if sigma >= FINEST_GRAIN_HU or result.pixels.shape != document.pixels.shape:
        return None
    body = document.pixels > BODY_HU
    if not body.any():
        return None
    change = float(np.abs(result.pixels[body] - document.pixels[body]).mean())
    return (
        f"the noise estimated at the pixel scale is {sigma:.2g} HU, so the scan changed by {change:.2g} HU"
        " on average: CT reconstruction smooths noise into a coarser grain this estimate does not"
        " see; to smooth more, set sigma in HU (3, say: --param sigma=3) and compare"
    )


CLEAN_PHOTO_SIGMA = 1.0  # on the 0-255 scale: below this a photo's noise is not what a person sees


def photo_noise(task: str, document: Any, params: dict[str, Any]) -> str | None:
    """A photo denoised with an estimated σ: the estimate said (it was only in the record), and under
    1 of 255 that the picture looks clean, since the learned denoisers still smooth fine detail there
    (McMaster 1.png, σ 0.18 estimated: 2.7 levels on average, 16 at the 99th percentile)."""
    if task != "denoise" or not params.get("sigma_estimated") or getattr(document, "kind", "") != "image":
        return None
    sigma = float(params.get("sigma", 0.0))
    said = f"noise σ estimated at {sigma:.2g} on the 0-255 scale (--param sigma=N chooses it)"
    if sigma < CLEAN_PHOTO_SIGMA:
        said += "; the picture looks clean, and denoising still smooths its fine detail: compare the two"
    return said
