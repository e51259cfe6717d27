"""Training recipe for `lacuna train denoise-fast`: the small fast denoiser distilled from a teacher.

The same noisy crops as `lacuna train denoise` (σ drawn per crop, noise-level map); the student learns
from the clean crop and, with --teacher, from the shipped denoiser's answer on the same noisy crop
(the teacher's output is an easier target than the clean image: what a good denoiser can recover).
Loss: L1 to the clean crop + --teacher-weight × L1 to the teacher (on every --teacher-every-th step:
the teacher's forward pass costs several student steps on a CPU).

    lacuna train denoise-fast --channels 1 --teacher resources/weights/denoise-gray.safetensors \
        --data ../shared/datasets/images/train/gray400 --out resources/weights/denoise-fast-gray.safetensors
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from core.train.recipes.denoise import DenoiseRecipe


class FastDenoiseRecipe(DenoiseRecipe):
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
        group.add_argument("--teacher", default=None, help="the weights to distil (a unet_denoiser file)")
        group.add_argument("--teacher-weight", type=float, default=1.0, help="weight of the teacher's L1")
        group.add_argument(
            "--teacher-every",
            type=int,
            default=1,
            help="ask the teacher on every Nth step only (it costs several student steps on a CPU)",
        )
        group.add_argument("--width", type=int, default=48, help="features per layer")
        group.add_argument("--layers", type=int, default=8, help="3×3 convolutions at quarter resolution")

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        self.teacher = None
        self.steps_taken = 0
        if args.teacher:
            from core.archs import load_weights

            self.teacher, _info = load_weights(args.teacher, device)
            self.teacher.requires_grad_(False)

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"channels": args.channels, "width": args.width, "layers": args.layers}

    def step(self, clean: torch.Tensor, generator: torch.Generator, autocast: Any) -> dict[str, Any]:
        inputs, target = self.make_batch(clean, generator)
        self.model.train()
        with autocast():
            pred = self.model(*inputs).float()
        loss = self.loss(pred, target)
        self.steps_taken += 1
        if self.teacher is not None and self.steps_taken % max(self.args.teacher_every, 1) == 0:
            with torch.no_grad(), autocast():
                taught = self.teacher(*inputs).float()
            loss = loss + self.args.teacher_weight * nn.functional.l1_loss(pred, taught)
        self.optimise(loss)
        return {"loss": loss.detach()}

    def card_info(self) -> dict[str, Any]:
        info = super().card_info()
        info.update(
            task="denoise",
            teacher=self.args.teacher,
            teacher_weight=self.args.teacher_weight,
            teacher_every=self.args.teacher_every,
        )
        return info


RECIPE = FastDenoiseRecipe
