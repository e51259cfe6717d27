"""JPEG artifact removal network: a residual encoder-decoder (UNet) that is blind to the quality.

Blocking and ringing span whole 8x8 blocks and their neighbours, so the network needs a receptive field
of several blocks: three 2x down-samplings (strided convolutions) give a 1/8-resolution level whose
grid lines up with the JPEG block grid when the input is aligned to the image origin; transposed
convolutions bring the features back, with additive skips (DRUNet style). The network predicts the
correction to the decoded JPEG (a global residual), so it starts at the identity.
"""

from __future__ import annotations

import torch
from torch import nn

from core.archs import register_arch
from core.archs.needs import NetworkNeeds, pad_to_multiple


class ResBlock(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        with torch.no_grad():  # start close to identity
            self.conv2.weight.mul_(0.1)
            self.conv2.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


def _stage(features: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(features) for _ in range(blocks)])


@register_arch("dejpeg_unet")
class DejpegUNet(nn.Module):
    """(B, C, H, W) decoded JPEG in [0, 1] -> (B, C, H, W) restored; any H, W (padded internally)."""

    def __init__(self, channels: int = 1, features=(64, 128, 256, 256), blocks: int = 2):
        super().__init__()
        features = tuple(int(f) for f in features)
        self.channels = channels
        self.needs = NetworkNeeds(
            channels, size_multiple=2 ** (len(features) - 1), overlap=48, pad_mode="replicate"
        )
        self.head = nn.Conv2d(channels, features[0], 3, padding=1)
        self.encoders = nn.ModuleList(_stage(f, blocks) for f in features[:-1])
        self.downs = nn.ModuleList(
            nn.Conv2d(a, b, 2, stride=2) for a, b in zip(features[:-1], features[1:], strict=True)
        )
        self.bottleneck = _stage(features[-1], blocks)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(features[:-1], features[1:], strict=True)
        )
        self.decoders = nn.ModuleList(_stage(f, blocks) for f in features[:-1])
        self.tail = nn.Conv2d(features[0], channels, 3, padding=1)
        with torch.no_grad():
            self.tail.weight.mul_(0.1)
            self.tail.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # Padding at the bottom/right keeps the JPEG block grid where it was.
        y = pad_to_multiple(x, self.needs.size_multiple, mode=self.needs.pad_mode)
        feat = self.head(y)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            feat = encoder(feat)
            skips.append(feat)
            feat = down(feat)
        feat = self.bottleneck(feat)
        for decoder, up, skip in zip(
            reversed(self.decoders), reversed(self.ups), reversed(skips), strict=True
        ):
            feat = decoder(up(feat) + skip)
        out = self.tail(feat)[..., :h, :w]
        return x.float() + out.float()
