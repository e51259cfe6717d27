"""A residual UNet denoiser (DRUNet family) with a noise-level map as an extra input channel.

    noisy (B, C, H, W) in [0, 1] + sigma map (B, 1, H, W) = σ/255  ->  clean estimate (B, C, H, W)

Each level is a stack of bias-free residual blocks (conv-ReLU-conv + skip); levels are joined by
pixel-unshuffle + 1×1 conv going down and 1×1 conv + pixel-shuffle going up (learned, alias-free
resampling at the cost of a 1×1 conv), and encoder features are added to the decoder's (DRUNet). The
network predicts the residual, added to the noisy input in float32 so half-precision inference keeps
full output precision. Bias-free convolutions make it scale-equivariant, which helps it generalise
across noise levels (Mohan et al. 2020). Any H, W: the input is padded to a multiple of 2^(levels-1)
by reflection and the output cropped back.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.archs import register_arch
from core.archs.needs import NetworkNeeds, pad_to_multiple


class ResBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x), inplace=True))


def _stack(width: int, count: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(width) for _ in range(count)])


class Down(nn.Module):
    """Halve H and W: pixel-unshuffle (no information lost) then a 1×1 conv to the next width."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.proj = nn.Conv2d(4 * width_in, width_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.pixel_unshuffle(x, 2))


class Up(nn.Module):
    """Double H and W: a 1×1 conv to four times the width, then pixel-shuffle."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.proj = nn.Conv2d(width_in, 4 * width_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.proj(x), 2)


def noise_map(noisy: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """The (B, 1, H, W) noise-level map of the denoisers from a map, a (B,) vector or a number."""
    b, _, h, w = noisy.shape
    if not torch.is_tensor(sigma):
        sigma = torch.tensor(float(sigma), device=noisy.device)
    sigma = sigma.to(noisy.dtype)
    return sigma.reshape(-1, 1, 1, 1).expand(b, 1, h, w) if sigma.dim() < 4 else sigma


@register_arch("unet_denoiser")
class UNetDenoiser(nn.Module):
    def __init__(
        self,
        channels: int = 3,
        widths: tuple[int, ...] | list[int] = (64, 128, 256, 512),
        blocks: int | tuple[int, ...] | list[int] = 2,
    ):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        blocks = (int(blocks),) * len(widths) if isinstance(blocks, int) else tuple(int(b) for b in blocks)
        if len(blocks) != len(widths):
            raise ValueError("blocks must be one count or one per level")
        self.channels = channels
        self.needs = NetworkNeeds(channels, size_multiple=2 ** (len(widths) - 1), overlap=32)
        self.head = nn.Conv2d(channels + 1, widths[0], 3, padding=1, bias=False)
        self.encoders = nn.ModuleList(_stack(w, b) for w, b in zip(widths[:-1], blocks[:-1]))
        self.downs = nn.ModuleList(Down(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.body = _stack(widths[-1], blocks[-1])
        self.ups = nn.ModuleList(Up(b, a) for a, b in zip(widths[:-1], widths[1:]))
        self.decoders = nn.ModuleList(_stack(w, b) for w, b in zip(widths[:-1], blocks[:-1]))
        self.tail = nn.Conv2d(widths[0], channels, 3, padding=1, bias=False)

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        """`sigma`: a (B, 1, H, W) map, a (B,) vector or a number, in units of the [0, 1] range."""
        h, w = noisy.shape[-2:]
        x = torch.cat([noisy, noise_map(noisy, sigma)], dim=1)
        x = pad_to_multiple(x, self.needs.size_multiple, self.needs.pad_mode)
        feat = self.head(x)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            feat = encoder(feat)
            skips.append(feat)
            feat = down(feat)
        feat = self.body(feat)
        for up, decoder, skip in zip(reversed(self.ups), reversed(self.decoders), reversed(skips)):
            feat = decoder(up(feat) + skip)
        residual = self.tail(feat)[..., :h, :w]
        return noisy + residual.to(noisy.dtype)

    def keeping(self, blocks: tuple[int, ...] | list[int]) -> UNetDenoiser:
        """A copy with only the first `blocks[i]` residual blocks of each level (encoder and decoder
        alike), every other weight shared: a cheaper network that starts close to this one, since a
        residual block removed leaves its stream intact. Fine-tuning (distillation) recovers the rest.
        """
        widths = [self.head.out_channels] + [down.proj.out_channels for down in self.downs]
        thinner = UNetDenoiser(self.channels, widths, list(blocks))
        stacks = [*zip(self.encoders, thinner.encoders), *zip(self.decoders, thinner.decoders)]
        stacks.append((self.body, thinner.body))
        if any(len(kept) > len(stack) for stack, kept in stacks):
            raise ValueError(f"cannot keep {list(blocks)} blocks of a network with fewer")
        own = self.state_dict()
        thinner.load_state_dict({name: own[name] for name in thinner.state_dict()})
        return thinner
