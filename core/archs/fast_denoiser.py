"""A small, fast denoiser (FFDNet's layout): pixel-unshuffle by 2, a plain stack of 3×3 convolutions at
quarter resolution, pixel-shuffle back, residual.

    noisy (B, C, H, W) in [0, 1] + σ map (B, 1, H, W) = σ/255  ->  clean estimate (B, C, H, W)

Working on 2×2 blocks quarters the cost of every layer while each layer still sees a 6×6 neighbourhood
of full-resolution pixels; the network predicts the noise, subtracted in float32. Bias-free, like the
shipped UNet, so it keeps scale equivariance. Trained by distillation from the shipped denoiser
(`lacuna train denoise-fast --teacher ...`), for speed on CPUs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.archs import register_arch
from core.archs.needs import NetworkNeeds, pad_to_multiple
from core.archs.unet import noise_map


@register_arch("fast_denoiser")
class FastDenoiser(nn.Module):
    def __init__(self, channels: int = 1, width: int = 48, layers: int = 8):
        super().__init__()
        self.channels = channels
        # Receptive field: `layers` 3×3 convolutions at half resolution, about 2 pixels each.
        self.needs = NetworkNeeds(channels, size_multiple=2, overlap=2 * layers + 2)
        stack: list[nn.Module] = [nn.Conv2d(4 * channels + 1, width, 3, padding=1, bias=False), nn.ReLU()]
        for _ in range(layers - 2):
            stack += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.ReLU()]
        stack.append(nn.Conv2d(width, 4 * channels, 3, padding=1, bias=False))
        self.body = nn.Sequential(*stack)

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        h, w = noisy.shape[-2:]
        x = pad_to_multiple(torch.cat([noisy, noise_map(noisy, sigma)], dim=1), 2, self.needs.pad_mode)
        blocks = F.pixel_unshuffle(x[:, :-1], 2)
        level = x[:, -1:, ::2, ::2]  # the map is flat per block: one sample of each is enough
        noise = F.pixel_shuffle(self.body(torch.cat([blocks, level], dim=1)), 2)[..., :h, :w]
        return noisy - noise.to(noisy.dtype)

    def deepened(self, layers: int) -> FastDenoiser:
        """A copy with more layers that computes the same function: identity convolutions spread between
        the trained ones (after a ReLU the input is non-negative, so ReLU(identity(x)) = x). Fine-tuning
        it reaches a deeper network's quality in a fraction of a from-scratch run.
        """
        convs = [m for m in self.body if isinstance(m, nn.Conv2d)]
        hidden = convs[1:-1]
        width = convs[0].out_channels
        if layers < len(convs):
            raise ValueError(f"cannot deepen {len(convs)} layers to {layers}")
        grown = FastDenoiser(self.channels, width, layers)
        targets = [m for m in grown.body if isinstance(m, nn.Conv2d)]
        extra = layers - len(convs)
        # Which new hidden slots keep a trained layer: evenly spaced among the len(hidden) + extra slots.
        slots = len(hidden) + extra
        kept = {round(i * (slots - 1) / max(len(hidden) - 1, 1)) for i in range(len(hidden))}
        trained = iter(hidden)
        with torch.no_grad():
            targets[0].weight.copy_(convs[0].weight)
            targets[-1].weight.copy_(convs[-1].weight)
            for slot, conv in enumerate(targets[1:-1]):
                if slot in kept:
                    conv.weight.copy_(next(trained).weight)
                else:
                    nn.init.dirac_(conv.weight)
        return grown
