"""The damage detector: a reconstructive autoencoder and a segmentation head (after DRAEM).

The autoencoder is trained to return the clean picture from a damaged one: it learns what undamaged
photo content looks like, so where its reconstruction departs from the input, the content does not
fit. The segmentation head sees the input, the reconstruction and their absolute difference and
outputs a per-pixel damage logit; it learns which departures are damage and which are only detail the
small autoencoder cannot reproduce (texture, fine edges). Both are small U-Nets, trained together.

    logits, reconstruction = model(image)      # image (B, C, H, W) in [0, 1]

Any height and width work: the input is padded to a multiple of 2**(levels + 1) (at least twice that)
and cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.archs import register_arch


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    # No normalisation: the nets are shallow, and batch-free behaviour keeps training and inference alike.
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.1)
    )


class ResidualBlock(nn.Module):
    """Two convolutions added to their input; the second starts at zero, so a new block passes its
    input through unchanged and a trained network deepened with it computes what it did."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels), nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        )
        nn.init.zeros_(self.body[1].weight)
        nn.init.zeros_(self.body[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SmallUNet(nn.Module):
    """A light U-Net: `levels` stride-2 stages (channels doubling, capped at 4x), additive skips, and
    `blocks` residual blocks at the coarsest level, where depth is cheap (1/256 of the pixels) and
    widens the view: a long scratch and a branch differ in how far they run, not in a few pixels.

    It works at half resolution: the input is folded 2x2 into channels (pixel unshuffle, which loses
    nothing, so a one-pixel line is still seen) and the output unfolded back. That costs a quarter of
    full-resolution convolutions, which is what lets it train on a CPU.
    """

    def __init__(self, cin: int, cout: int, width: int, levels: int, blocks: int = 0):
        super().__init__()
        widths = [width * min(2**i, 4) for i in range(levels + 1)]
        self.levels = levels
        self.stem = nn.Sequential(_conv(4 * cin, widths[0]), _conv(widths[0], widths[0]))
        self.down = nn.ModuleList(
            nn.Sequential(_conv(widths[i], widths[i + 1], stride=2), _conv(widths[i + 1], widths[i + 1]))
            for i in range(levels)
        )
        self.middle = nn.Sequential(*(ResidualBlock(widths[-1]) for _ in range(blocks)))
        self.reduce = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 1) for i in range(levels))
        self.refine = nn.ModuleList(_conv(widths[i], widths[i]) for i in range(levels))
        self.head = nn.Conv2d(widths[0], 4 * cout, 3, padding=1, padding_mode="reflect")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(F.pixel_unshuffle(x, 2))
        skips = []
        for down in self.down:
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for i in reversed(range(self.levels)):
            x = F.interpolate(self.reduce[i](x), scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.refine[i](x + skips[i])
        return F.pixel_shuffle(self.head(x), 2)


@register_arch("damage_detector")
class DamageDetector(nn.Module):
    """channels: image channels (gray runs through a colour net replicated to RGB); width: autoencoder
    channels at full resolution; seg_width: segmentation head channels; levels: down-sampling stages;
    blocks: residual blocks at the coarsest level of each U-Net."""

    def __init__(
        self, channels: int = 3, width: int = 16, seg_width: int = 16, levels: int = 3, blocks: int = 0
    ):
        super().__init__()
        self.channels = channels
        self.levels = levels
        self.blocks = blocks
        self.autoencoder = SmallUNet(channels, channels, width, levels, blocks)
        self.segment = SmallUNet(2 * channels + 1, 1, seg_width, levels, blocks)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """image (B, C, H, W) in [0, 1] -> (damage logits (B, 1, H, W), reconstruction (B, C, H, W))."""
        height, width = image.shape[-2:]
        multiple = 2 ** (self.levels + 1)
        # A multiple of the strides, and at least two of them: the deepest level's reflect padding
        # needs two pixels each way (a 12 x 20 slice would otherwise end there as 1 x 2).
        pad_h = max(-(-height // multiple), 2) * multiple - height
        pad_w = max(-(-width // multiple), 2) * multiple - width
        x = image
        if pad_h or pad_w:
            mode = "reflect" if min(height, width) > max(pad_h, pad_w) else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        # The autoencoder predicts a correction: undamaged pixels need none, which it learns first.
        reconstruction = (x + self.autoencoder(x - 0.5)).clamp(0.0, 1.0)
        difference = (x - reconstruction).abs().mean(dim=1, keepdim=True)
        logits = self.segment(torch.cat([x - 0.5, reconstruction - 0.5, difference * 4.0], dim=1))
        return logits[..., :height, :width], reconstruction[..., :height, :width]

    def widened(self, width: int, seg_width: int, blocks: int | None = None) -> DamageDetector:
        """A wider (and with `blocks`, deeper) detector that computes the same function: further
        training starts from this one's skill with room to learn more (no GPU here to train a large
        one from scratch, issue 18). New blocks start as identities (ResidualBlock)."""
        blocks = self.blocks if blocks is None else blocks
        if blocks < self.blocks:
            raise ValueError(f"{self.blocks} residual blocks do not fit in {blocks}")
        wide = DamageDetector(self.channels, width, seg_width, self.levels, blocks)
        old_state = self.state_dict()
        new_state = wide.state_dict()
        for name, new in new_state.items():
            old = old_state.get(name)
            if old is None:  # a new residual block: its own start, an identity
                continue
            if any(n < o for n, o in zip(new.shape, old.shape)):
                raise ValueError(f"{name}: {tuple(old.shape)} does not fit in {tuple(new.shape)}")
            kept = tuple(slice(0, n) for n in old.shape)
            if new.ndim == 4:
                # The old channels read nothing from the new ones (zero weights), so they compute what
                # they did; the new channels keep their random start and are read once training moves.
                new[: old.shape[0], old.shape[1] :] = 0.0
            new[kept] = old
        wide.load_state_dict(new_state)
        return wide
