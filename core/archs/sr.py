"""Super-resolution network: a residual body at low resolution and sub-pixel convolution heads.

EDSR-baseline style (no batch norm, residual blocks), one shared body for every scale and one small
head per scale (MDSR's idea: the scales share almost everything). Each head predicts `scale**2`
sub-pixel values per low-resolution pixel which PixelShuffle rearranges onto the high-resolution grid:
a learned deconvolution of the residual over MATLAB bicubic up-sampling, so an untrained network
already returns bicubic and training only has to learn the missing detail.
"""

from __future__ import annotations

import torch
from torch import nn

from core.archs import register_arch
from core.archs.needs import NetworkNeeds
from core.imresize import torch_upsample


class ResBlock(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        # Start each block close to identity: deep plain stacks without batch norm train faster so.
        with torch.no_grad():
            self.conv2.weight.mul_(0.1)
            self.conv2.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


@register_arch("sr_resnet")
class SRResNet(nn.Module):
    """(B, C, h, w) in [0, 1] -> (B, C, h*scale, w*scale). `scale` is one of `scales`."""

    def __init__(self, channels: int = 1, features: int = 64, blocks: int = 16, scales=(2, 3, 4)):
        super().__init__()
        self.channels = channels
        # Context a tile needs (low-resolution pixels): the receptive field, one pixel per 3×3 layer
        # (head, two per block, body end, two in the tail), plus a margin; the shipped 16 blocks: 40.
        self.needs = NetworkNeeds(channels, overlap=min(40, 2 * blocks + 8))
        self.scales = tuple(int(s) for s in scales)
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(features) for _ in range(blocks)])
        self.body_end = nn.Conv2d(features, features, 3, padding=1)
        self.tails = nn.ModuleDict()
        for s in self.scales:
            out = nn.Conv2d(features, channels * s * s, 3, padding=1)
            with torch.no_grad():
                out.weight.mul_(0.1)
                out.bias.zero_()
            self.tails[str(s)] = nn.Sequential(
                nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True), out, nn.PixelShuffle(s)
            )

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        if int(scale) not in self.scales:
            raise ValueError(f"this network upscales by {self.scales}, not {scale}")
        base = torch_upsample(x.float(), int(scale))  # float32 even under autocast
        feat = self.head(x)
        feat = feat + self.body_end(self.body(feat))
        return base + self.tails[str(int(scale))](feat).float()
