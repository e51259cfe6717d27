"""A small UNet over log-magnitude spectrogram patches (freq x time) for gap filling.

Input: (B, 2, F, T) = [normalised log-magnitude with the unknown bins zeroed, unknown-bin mask].
Output: (B, 1, F, T) normalised log-magnitude for every bin (callers keep the known bins).
Fully convolutional: any F and T (padded internally to a multiple of 2**depth). The bottleneck
adds dilated convolutions along time so the middle of a 0.5 s gap sees both sides of it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.archs import register_arch
from core.archs.needs import NetworkNeeds, pad_to_multiple


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, dilation: tuple[int, int] = (1, 1)):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation)
        self.norm1 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=dilation, dilation=dilation)
        self.norm2 = _norm(cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        return F.silu(h + self.skip(x))


@register_arch("spec_unet")
class SpecUNet(nn.Module):
    def __init__(self, in_channels: int = 2, base: int = 16, depth: int = 4, bottleneck_dilations=(2, 4, 8)):
        super().__init__()
        self.depth = depth
        self.needs = NetworkNeeds(in_channels, size_multiple=2**depth, overlap=0)
        widths = [base * min(2**i, 8) for i in range(depth + 1)]
        self.stem = _Block(in_channels, widths[0])
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        for i in range(depth):
            self.down.append(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1))
            self.enc.append(_Block(widths[i + 1], widths[i + 1]))
        self.mid = nn.Sequential(*[_Block(widths[-1], widths[-1], (1, d)) for d in bottleneck_dilations])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(depth)):
            self.up.append(nn.Conv2d(widths[i + 1], widths[i], 3, padding=1))
            self.dec.append(_Block(2 * widths[i], widths[i]))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, height, width = x.shape
        x = pad_to_multiple(x, self.needs.size_multiple, mode="zeros")
        h = self.stem(x)
        skips = [h]
        for down, enc in zip(self.down, self.enc):
            h = enc(down(h))
            skips.append(h)
        h = self.mid(h)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            h = up(F.interpolate(h, size=skip.shape[-2:], mode="nearest"))
            h = dec(torch.cat([h, skip], dim=1))
        return self.head(h)[..., :height, :width]
