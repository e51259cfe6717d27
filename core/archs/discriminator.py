"""A PatchGAN discriminator with spectral normalisation, for adversarial training of the inpainter.

Each output logit judges one overlapping patch (about 70 px on a side for depth 3), so the generator
is pushed towards locally plausible texture rather than one global verdict. Spectral normalisation
bounds the discriminator's Lipschitz constant, which keeps the small-weight adversarial loss stable.
`forward` returns the logits and the intermediate features (for a feature-matching loss).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from core.archs import register_arch


@register_arch("patch_discriminator")
class PatchDiscriminator(nn.Module):
    def __init__(self, channels: int = 3, width: int = 64, depth: int = 3):
        super().__init__()
        layers = []
        cin = channels
        for i in range(depth):
            cout = width * min(2**i, 8)
            layers.append(
                nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2))
            )
            cin = cout
        cout = width * min(2**depth, 8)
        layers.append(nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 3, padding=1)), nn.LeakyReLU(0.2)))
        self.features = nn.ModuleList(layers)
        self.head = spectral_norm(nn.Conv2d(cout, 1, 3, padding=1))
        self.stride = 2**depth

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """image (B, C, H, W) in [0, 1] -> logits (B, 1, H/8, W/8) and a list of feature maps."""
        x = image * 2.0 - 1.0
        feats = []
        for layer in self.features:
            x = layer(x)
            feats.append(x)
        return self.head(x), feats
