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
        " see; to smooth more, set sigma in HU (3, say) and compare"
    )
