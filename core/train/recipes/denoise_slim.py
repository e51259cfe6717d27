"""Training recipe for `lacuna train denoise-slim`: the shipped UNet denoiser with fewer residual blocks,
distilled from the full one.

It starts from the shipped network itself (--init), keeping the first --blocks residual blocks of each
level (core.archs.unet.UNetDenoiser.keeping), and learns from the clean crop and the full network's
answer (core.train.distill). A plain stack of the same cost (`denoise-fast`) starts from nothing; this one
starts from the multi-scale network that already denoises well.

    lacuna train denoise-slim --channels 1 --init resources/weights/denoise-gray.safetensors \
        --teacher resources/weights/denoise-gray.safetensors --widths 32,64,128,256 --blocks 0,1,1,1 \
        --data ../shared/datasets/images/train/gray400 --out denoise-slim-gray.safetensors
"""

from __future__ import annotations

from torch import nn

from core.archs.unet import UNetDenoiser
from core.train.distill import Distilled
from core.train.recipes.denoise import DenoiseRecipe


class SlimDenoiseRecipe(Distilled, DenoiseRecipe):
    task = "denoise-slim"
    default_crop = 96
    default_lr = 3e-4

    def adapt_start(self, model: nn.Module) -> nn.Module | None:
        """--init from a UNet of the same widths with more blocks per level: keep the first ones."""
        hp = self.hyperparameters(self.args)
        if not isinstance(model, UNetDenoiser) or model.channels != hp["channels"]:
            return None
        blocks = hp["blocks"] if isinstance(hp["blocks"], list) else [hp["blocks"]] * len(hp["widths"])
        try:
            thinner = model.keeping(blocks)
        except ValueError:
            return None
        widths = [thinner.head.out_channels] + [down.proj.out_channels for down in thinner.downs]
        return thinner if widths == hp["widths"] else None


RECIPE = SlimDenoiseRecipe
