"""Training recipe for `lacuna train dejpeg-fast`: a small JPEG artifact remover distilled from the
shipped one (core.train.distill), on the same JPEG crops as `lacuna train dejpeg`.

The same encoder-decoder as the shipped network (its four levels reach across several 8×8 blocks),
with half the features (16 at full resolution, 128 at 1/8) and one residual block per level instead of
two: 36 k multiply-adds per pixel against the teacher's 271 k (1/7.6, torch.utils.flop_counter).

A run of this recipe (its arguments, steps and time) made the shipped weights: the exact command is in
resources/weights/dejpeg-fast-gray.md, its log and record beside it. Color images run plane by plane
through this gray network.
"""

from __future__ import annotations

import argparse

from core.train.distill import Distilled
from core.train.recipes.dejpeg import DejpegRecipe


class FastDejpegRecipe(Distilled, DejpegRecipe):
    task = "dejpeg-fast"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(features="16,32,64,128", blocks=1)


RECIPE = FastDejpegRecipe
