"""Training recipe for `lacuna train upscale-fast`: a small ×2/×3/×4 luma upscaler distilled from the
shipped one (core.train.distill), on the same bicubic pairs as `lacuna train upscale`.

The student is the shipped layout made narrow and shallow: 48 features and three residual blocks at
low resolution (the teacher: 64 and sixteen), one sub-pixel (pixel-shuffle) head per scale over
bicubic up-sampling, so all the work happens at low resolution. About a seventh of the teacher's
multiply-adds per output pixel at every scale (42 k against 314 k at ×2, counted with
torch.utils.flop_counter) and 6× faster on one CPU thread.

The weights (the shared 2-core CPU, one thread, bfloat16: about 5 steps/s, 55 minutes):

    OMP_NUM_THREADS=1 nice -n 19 python -m core.cli train upscale-fast \
        --teacher resources/weights/upscale.safetensors --teacher-every 2 \
        --data ../shared/datasets/images/train/gray400 ../shared/datasets/images/train/color432 \
        --out resources/weights/upscale-fast.safetensors \
        --steps 16000 --batch 16 --lr-patch 32 --crop 128 --lr 1e-3 --device cpu --precision bfloat16 \
        --log-every 200 --val-every 1000 --checkpoint-every 1000
"""

from __future__ import annotations

import argparse
from typing import Any

from core.train.distill import Distilled
from core.train.recipes.upscale import UpscaleRecipe


class FastUpscaleRecipe(Distilled, UpscaleRecipe):
    task = "upscale-fast"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(features=48, blocks=3)

    def card_info(self) -> dict[str, Any]:
        return {**super().card_info(), "task": "upscale"}


RECIPE = FastUpscaleRecipe
