"""Training recipe for `lacuna train dejpeg-fast`: a small JPEG artifact remover distilled from the
shipped one (core.train.distill), on the same JPEG crops as `lacuna train dejpeg`.

The same encoder-decoder as the shipped network (its four levels reach across several 8×8 blocks),
with fewer features and one residual block per level: about an eighth of the work per pixel.

    lacuna train dejpeg-fast --channels 1 --teacher resources/weights/dejpeg-gray.safetensors \
        --data ../shared/datasets/images/train/gray400 --out resources/weights/dejpeg-fast-gray.safetensors
"""

from __future__ import annotations

import argparse
from typing import Any

from core.train.distill import Distilled
from core.train.recipes.dejpeg import DejpegRecipe


class FastDejpegRecipe(Distilled, DejpegRecipe):
    task = "dejpeg-fast"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(features="32,64,128,128", blocks=1)

    def card_info(self) -> dict[str, Any]:
        return {**super().card_info(), "task": "dejpeg"}


RECIPE = FastDejpegRecipe
