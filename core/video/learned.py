"""The learned in-between frame: classical DIS flow refined by `core.archs.interp` (weights by Lacuna)."""

from __future__ import annotations

import numpy as np

WEIGHTS = "fill-frames.safetensors"
INPUTS = ("frame0", "frame1", "flow01", "flow10", "motion0", "motion1", "t")


def learned_interpolator(ctx=None, weights=None):
    """An interpolator(a, b, ts) running the network through the engine seam (`core.runtime.backends`:
    bfloat16 on CPUs that compute it natively), so the record names the engine that ran it. The
    network is loaded once; flow is computed once per pair of frames and reused for every time. Given
    the frames just outside (`outer`), the motion follows a curve through them."""
    import torch

    from core.errors import MethodError
    from core.methods import weights as weights_store
    from core.runtime.backends import NetworkCall, network
    from core.runtime.context import RunContext
    from core.video.interpolate import Outer, dense_flow, displacements

    ctx = ctx or RunContext()
    path = weights or weights_store.locate(WEIGHTS)
    if path is None:
        raise MethodError(f"weights not installed: {WEIGHTS} ({weights_store.where_looked()})")
    net = network(NetworkCall(path, inputs=INPUTS, exportable=False), ctx)
    where = ctx.torch_device()

    def as_tensor(x: np.ndarray, scale: float) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float().mul_(scale).to(where)

    @torch.inference_mode()
    def interpolate(a: np.ndarray, b: np.ndarray, ts: list[float], outer: Outer | None = None):
        outer = outer or Outer()
        f01, f10 = dense_flow(a, b), dense_flow(b, a)
        g0 = dense_flow(a, outer.before) if outer.before is not None else None
        g1 = dense_flow(b, outer.after) if outer.after is not None else None
        pair = (as_tensor(a, 1 / 255), as_tensor(b, 1 / 255), as_tensor(f01, 1.0), as_tensor(f10, 1.0))
        out = []
        for t in ts:
            d0, d1 = displacements(t, f01, f10, g0, outer.t_before, g1, outer.t_after)
            motions = (as_tensor(d0, 1.0), as_tensor(d1, 1.0))
            frame = net(*pair, *motions, torch.full((1, 1, 1, 1), float(t), device=where))
            pixels = frame[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
            out.append(pixels)
        return out

    return interpolate
