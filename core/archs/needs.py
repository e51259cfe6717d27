"""What a network needs from whoever runs it, stated once by its architecture (as spandrel does):
the channels it takes, the size multiple its input is padded to (and how), the context a tile needs
on each side, whether it runs correctly in half precision and whether NHWC layout speeds it up.
Tiling (`core.runtime.tiling`), padding (`pad_to_multiple`), precision (`core.runtime.device.autocast`)
and the backends (`core.runtime.backends`) read it from here.

    needs = needs_of(model)       # NetworkNeeds(channels=3, size_multiple=8, overlap=32, half=True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class NetworkNeeds:
    channels: int = 3  # input channels per pass (1: a gray or luma plane, 3: RGB)
    size_multiple: int = 1  # height and width are padded to a multiple of this
    overlap: int = 16  # context on each side of a tile, in input pixels (about the receptive field)
    half: bool = True  # correct under float16/bfloat16 autocast
    # How the network pads its input to `size_multiple` (a runner that pads outside it must match).
    pad_mode: str = "reflect"
    channels_last: bool = True  # faster in NHWC memory layout (plain convolutions; not FFTs)


def needs_of(model: torch.nn.Module) -> NetworkNeeds:
    """The needs a network states (architectures set `self.needs`), or safe defaults."""
    return getattr(model, "needs", None) or NetworkNeeds(channels=int(getattr(model, "channels", 3)))


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "reflect") -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom and right to multiples of `multiple`; crop the output back
    with `[..., :H, :W]`. Reflection needs a pad smaller than the size: tiny inputs replicate."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if not (pad_h or pad_w):
        return x
    if mode == "reflect" and not (pad_h < height and pad_w < width):
        mode = "replicate"
    if mode == "zeros":
        return F.pad(x, (0, pad_w, 0, pad_h))
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
