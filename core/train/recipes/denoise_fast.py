"""Training recipe for `lacuna train denoise-fast`: the small fast denoiser distilled from a teacher.

The same noisy crops as `lacuna train denoise` (σ drawn per crop, noise-level map); the student learns
from the clean crop and, with --teacher, from the shipped denoiser's answer on the same noisy crop
(core.train.distill).

    lacuna train denoise-fast --channels 1 --teacher resources/weights/denoise-gray.safetensors \
        --data ../shared/datasets/images/train/gray400 --out resources/weights/denoise-fast-gray.safetensors
"""

from __future__ import annotations

import argparse
from typing import Any

from torch import nn

from core.archs.fast_denoiser import FastDenoiser
from core.train.distill import Distilled
from core.train.recipes.denoise import DenoiseRecipe


class FastDenoiseRecipe(Distilled, DenoiseRecipe):
    task = "denoise-fast"
    arch = "fast_denoiser"
    default_steps = 20000
    default_batch = 16
    default_crop = 64
    default_lr = 1e-3

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        group = parser.add_argument_group("denoise-fast")
        group.add_argument("--width", type=int, default=48, help="features per layer")
        group.add_argument("--layers", type=int, default=8, help="3×3 convolutions at quarter resolution")

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"channels": args.channels, "width": args.width, "layers": args.layers}

    def adapt_start(self, model: nn.Module) -> nn.Module | None:
        """--init from a shallower fast denoiser of the same width and channels: deepen it first."""
        hp = self.hyperparameters(self.args)
        if not isinstance(model, FastDenoiser) or model.channels != hp["channels"]:
            return None
        convs = [m for m in model.body if isinstance(m, nn.Conv2d)]
        if convs[0].out_channels != hp["width"] or len(convs) > hp["layers"]:
            return None
        return model.deepened(hp["layers"])


RECIPE = FastDenoiseRecipe
