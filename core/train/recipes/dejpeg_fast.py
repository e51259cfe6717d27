"""Training recipe for `lacuna train dejpeg-fast`: a small JPEG artifact remover distilled from the
shipped one (core.train.distill), on the same JPEG crops as `lacuna train dejpeg`.

The same encoder-decoder as the shipped network (its four levels reach across several 8×8 blocks),
with half the features (16 at full resolution, 128 at 1/8) and one residual block per level instead of
two: 36 k multiply-adds per pixel against the teacher's 271 k (1/7.6, torch.utils.flop_counter).

The weights (the shared 2-core CPU, one thread, bfloat16; 8,000 steps); color images
run plane by plane through this gray network:

    OMP_NUM_THREADS=1 nice -n 19 python -m core.cli train dejpeg-fast --channels 1 \
        --teacher resources/weights/dejpeg-gray.safetensors --teacher-every 2 \
        --data ../shared/datasets/images/train/gray400 ../shared/datasets/images/train/color432 \
        --out resources/weights/dejpeg-fast-gray.safetensors \
        --steps 8000 --batch 16 --crop 64 --lr 1e-3 --device cpu --precision bfloat16 \
        --log-every 200 --val-every 1000 --checkpoint-every 1000
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
        parser.set_defaults(features="16,32,64,128", blocks=1)

    def card_info(self) -> dict[str, Any]:
        return {**super().card_info(), "task": "dejpeg"}


RECIPE = FastDejpegRecipe
