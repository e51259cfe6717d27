"""The inpainting generator: an encoder-decoder with Fast Fourier Convolution blocks (after LaMa).

Input: an RGB image in [0, 1] and a mask (1 = hole). The holes are set to mid-gray, the mask is given as
a fourth channel. The encoder goes down to 1/2**depth resolution, where residual FFC blocks mix
information across the whole image: part of each block's channels pass through a spectral transform
(an FFT, a 1x1 convolution on the frequencies, an inverse FFT), so a pixel in the middle of a large
hole sees the entire image in one layer. The decoder comes back up with skip connections from the
encoder, which keep fine detail at the edges of thin strokes. Output: the full RGB image in [0, 1];
callers composite it with the known pixels.

Any height and width work: the input is reflect-padded to a multiple of 2**depth and cropped back.
The FFT runs in float32 even under bf16 autocast (cuFFT has no bf16 and needs float32 for odd sizes).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from core.archs import register_arch
from core.archs.needs import NetworkNeeds, pad_to_multiple


def _norm(channels: int) -> nn.GroupNorm:
    # Per-sample normalisation: the same statistics at training and inference, whatever the batch.
    return nn.GroupNorm(math.gcd(8, channels), channels)


class FourierUnit(nn.Module):
    """A 1x1 convolution applied to the real and imaginary parts of the 2-D spectrum."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 2 * channels, 1, bias=False)
        self.norm = _norm(2 * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        with torch.autocast(x.device.type, enabled=False):
            spec = torch.fft.rfft2(x.float(), norm="ortho")
            z = torch.cat([spec.real, spec.imag], dim=1)
            z = F.gelu(self.norm(self.conv(z)))
            real, imag = z.chunk(2, dim=1)
            out = torch.fft.irfft2(torch.complex(real, imag), s=(height, width), norm="ortho")
        return out.to(x.dtype)


class SpectralTransform(nn.Module):
    """Reduce channels, apply the Fourier unit with a residual, expand back (the FFC global path)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        mid = max(cout // 2, 1)
        self.reduce = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), _norm(mid), nn.GELU())
        self.fourier = FourierUnit(mid)
        self.expand = nn.Conv2d(mid, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.expand(x + self.fourier(x))


class FFC(nn.Module):
    """Fast Fourier Convolution: local (3x3) and global (spectral) channel groups exchanging information."""

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.global_ch = int(channels * ratio)
        self.local_ch = channels - self.global_ch
        lc, gc = self.local_ch, self.global_ch
        self.l2l = nn.Conv2d(lc, lc, 3, padding=1, padding_mode="reflect", bias=False)
        self.l2g = nn.Conv2d(lc, gc, 3, padding=1, padding_mode="reflect", bias=False)
        self.g2l = nn.Conv2d(gc, lc, 3, padding=1, padding_mode="reflect", bias=False)
        self.g2g = SpectralTransform(gc, gc)
        self.norm_l = _norm(lc)
        self.norm_g = _norm(gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xl, xg = x[:, : self.local_ch], x[:, self.local_ch :]
        yl = self.l2l(xl) + self.g2l(xg)
        yg = self.l2g(xl) + self.g2g(xg)
        return torch.cat([F.gelu(self.norm_l(yl)), F.gelu(self.norm_g(yg))], dim=1)


class FFCBlock(nn.Module):
    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.body = nn.Sequential(FFC(channels, ratio), FFC(channels, ratio))
        # Start each block close to the identity, which keeps a deep stack of FFTs stable early on.
        self.scale = nn.Parameter(torch.full((1, channels, 1, 1), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * self.body(x)


def _head(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The output layer in float32 even under autocast: bf16 would quantise the image to ~8 bits."""
    with torch.autocast(x.device.type, enabled=False):
        return torch.sigmoid(conv(x.float()))


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    # No normalisation outside the FFC blocks: the encoder and decoder are shallow, and full-resolution
    # norms cost memory bandwidth for little gain.
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, padding_mode="reflect"), nn.GELU()
    )


class Up(nn.Module):
    """Reduce channels at the coarse level (cheap), upsample, add the skip, refine with one 3x3 conv.

    Bilinear upsampling: nearest-neighbour (what the shipped weights were trained with) left a grid of
    8-pixel blocks in large fills; run bilinear, the same weights fill without it and score a little
    higher (resources/weights/inpaint.md)."""

    def __init__(self, cin: int, cout: int, mode: str = "bilinear"):
        super().__init__()
        self.reduce = nn.Conv2d(cin, cout, 1)
        self.refine = _conv(cout, cout)
        self.mode = mode

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        smooth = {} if self.mode == "nearest" else {"align_corners": False}
        x = F.interpolate(self.reduce(x), scale_factor=2.0, mode=self.mode, **smooth)
        return self.refine(x + skip)


@register_arch("inpaint_ffc")
class InpaintFFC(nn.Module):
    """width: channels at full resolution (doubling per level, capped at 8x); depth: down-sampling
    levels; blocks: FFC residual blocks at the lowest resolution; ratio: share of global channels;
    upsample: the decoder's upsampling ("bilinear", or "nearest" as the shipped weights were trained)."""

    def __init__(
        self,
        channels: int = 3,
        width: int = 32,
        depth: int = 3,
        blocks: int = 5,
        ratio: float = 0.75,
        upsample: str = "bilinear",
    ):
        super().__init__()
        self.channels = channels
        self.depth = depth
        # whole crops, no tiles: the network sees each region with its context at once
        self.needs = NetworkNeeds(channels, size_multiple=2**depth, overlap=0, channels_last=False)
        widths = [width * min(2**i, 8) for i in range(depth + 1)]
        self.stem = _conv(channels + 1, widths[0], k=7)
        self.down = nn.ModuleList(_conv(widths[i], widths[i + 1], k=3, stride=2) for i in range(depth))
        self.blocks = nn.Sequential(*(FFCBlock(widths[-1], ratio) for _ in range(blocks)))
        self.up = nn.ModuleList(Up(widths[i + 1], widths[i], upsample) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], channels, 3, padding=1, padding_mode="reflect")

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """image (B, C, H, W) in [0, 1]; mask (B, 1, H, W), 1 = hole. Returns (B, C, H, W) in [0, 1]."""
        height, width = image.shape[-2:]
        known = 1.0 - mask
        x = torch.cat([(image - 0.5) * known, mask], dim=1)
        x = pad_to_multiple(x, self.needs.size_multiple, self.needs.pad_mode)
        x = self.stem(x)
        skips = []
        for down in self.down:
            skips.append(x)
            x = down(x)
        x = self.blocks(x)
        for up in self.up:
            x = up(x, skips.pop())
        out = _head(self.head, x)
        return out[..., :height, :width]


class _DIPDown(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=2, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
            nn.Conv2d(cout, cout, 3, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _DIPUp(nn.Module):
    def __init__(self, cin: int, skip: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin + skip, cout, 3, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
            nn.Conv2d(cout, cout, 1),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.body(torch.cat([x, skip], dim=1))


@register_arch("dip_unet")
class DIPUNet(nn.Module):
    """The Deep Image Prior generator (Ulyanov et al. 2018): a U-Net with narrow skip connections,
    fitted from a fixed noise image to one picture. Never trained on data; built fresh for each fill.

    Batch norm over a batch of one normalises over the image, as in the original. Any size works:
    the input is reflect-padded to a multiple of 2**levels and cropped back.
    """

    def __init__(
        self, channels: int = 3, in_channels: int = 32, width: int = 64, levels: int = 5, skip: int = 16
    ):
        super().__init__()
        self.in_channels = in_channels
        self.levels = levels
        self.needs = NetworkNeeds(in_channels, size_multiple=2**levels, overlap=0)
        self.downs = nn.ModuleList(_DIPDown(in_channels if i == 0 else width, width) for i in range(levels))
        self.skips = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels if i == 0 else width, skip, 1), nn.BatchNorm2d(skip), nn.LeakyReLU(0.2)
            )
            for i in range(levels)
        )
        self.ups = nn.ModuleList(_DIPUp(width, skip, width) for _ in range(levels))
        self.head = nn.Conv2d(width, channels, 1)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        height, width = noise.shape[-2:]
        x = pad_to_multiple(noise, self.needs.size_multiple, mode="replicate")
        skips = []
        for down, skip in zip(self.downs, self.skips):
            skips.append(skip(x))
            x = down(x)
        for up in self.ups:
            x = up(x, skips.pop())
        return _head(self.head, x)[..., :height, :width]
