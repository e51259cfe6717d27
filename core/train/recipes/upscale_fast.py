"""Training recipe for `lacuna train upscale-fast`: a small ×2/×3/×4 luma upscaler distilled from the
shipped one (core.train.distill), on the same bicubic pairs as `lacuna train upscale`.

The student is the shipped layout made narrow and shallow: 48 features and three residual blocks at
low resolution (the teacher: 64 and sixteen), one sub-pixel (pixel-shuffle) head per scale over
bicubic up-sampling, so all the work happens at low resolution. About a seventh of the teacher's
multiply-adds per output pixel at every scale (42 k against 314 k at ×2, counted with
torch.utils.flop_counter); measured 2.9× faster at ×2 with bfloat16 on 2 threads (the card).

A run of this recipe (its arguments, steps and time) made the shipped weights: the exact command is in
resources/weights/upscale-fast.md, its log and record beside it.
"""

from __future__ import annotations

import argparse

from core.train.distill import Distilled
from core.train.recipes.upscale import UpscaleRecipe


class FastUpscaleRecipe(Distilled, UpscaleRecipe):
    task = "upscale-fast"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(features=48, blocks=3)


RECIPE = FastUpscaleRecipe
