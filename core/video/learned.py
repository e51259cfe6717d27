"""The learned in-between frame: classical DIS flow refined by `core.archs.interp` (weights by Lacuna)."""

from __future__ import annotations

import numpy as np

WEIGHTS = "fill-frames.safetensors"


def learned_interpolator(device: str = "auto", weights=None):
    """An interpolator(a, b, ts) that runs the network on `device` (the network is loaded once)."""
    import torch

    from core.archs import cached_weights
    from core.errors import MethodError
    from core.methods import weights as weights_store
    from core.runtime.device import pick_device
    from core.video.interpolate import dense_flow

    where = pick_device(device)
    path = weights or weights_store.locate(WEIGHTS)
    if path is None:
        raise MethodError(f"weights not installed: {WEIGHTS} ({weights_store.where_looked()})")
    model, _ = cached_weights(path, where)

    def as_tensor(x: np.ndarray, scale: float) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float().mul_(scale).to(where)

    @torch.inference_mode()
    def interpolate(a: np.ndarray, b: np.ndarray, ts: list[float]) -> list[np.ndarray]:
        f01, f10 = as_tensor(dense_flow(a, b), 1.0), as_tensor(dense_flow(b, a), 1.0)
        ta, tb = as_tensor(a, 1 / 255), as_tensor(b, 1 / 255)
        out = []
        for t in ts:
            frame = model(ta, tb, f01, f10, torch.tensor([t], device=where))
            pixels = frame[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
            out.append(pixels)
        return out

    return interpolate
