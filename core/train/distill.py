"""Distillation for the "fast" models: a shipped network teaches a smaller one on the same crops.

`Distilled` goes before a task's recipe in the bases (`class FastX(Distilled, XRecipe)`): it adds the
options --teacher, --teacher-weight and --teacher-every, and to the task's own loss a term to the
teacher's answer on the same inputs (`imitation_loss`: L1, hole-weighted for inpainting). The
teacher's output is an easier target than the clean crop: what a good network can recover from
these inputs. On a CPU its forward pass costs several student
steps, hence --teacher-every.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from core.runtime.device import autocast


class Distilled:
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        group = parser.add_argument_group("distillation")
        group.add_argument("--teacher", default=None, help="the shipped weights to distil")
        group.add_argument(
            "--teacher-weight", type=float, default=1.0, help="weight of the term to the teacher's answer"
        )
        group.add_argument(
            "--teacher-every",
            type=int,
            default=1,
            help="ask the teacher on every Nth step only (it costs several student steps on a CPU)",
        )

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        self.teacher = None
        self.teacher_calls = 0
        self._inputs: tuple[torch.Tensor, ...] = ()
        if args.teacher:
            from core.archs import load_weights

            self.teacher, _info = load_weights(args.teacher, device)
            self.teacher.requires_grad_(False)
            self.teacher.eval()

    def make_batch(self, clean: torch.Tensor, generator: torch.Generator):
        inputs, target = super().make_batch(clean, generator)
        self._inputs = inputs  # the teacher answers the same inputs in loss()
        return inputs, target

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = super().loss(pred, target)
        if self.teacher is None or not self.model.training:
            return loss
        self.teacher_calls += 1
        if self.teacher_calls % max(self.args.teacher_every, 1):
            return loss
        with torch.no_grad(), autocast(self.device, self.args.precision):
            taught = self.teacher(*self._inputs).float()
        return loss + self.args.teacher_weight * self.imitation_loss(pred, taught)

    def imitation_loss(self, pred: torch.Tensor, taught: torch.Tensor) -> torch.Tensor:
        """How far the student is from the teacher's answer (a task may weight where it matters)."""
        return nn.functional.l1_loss(pred, taught)

    def card_info(self) -> dict[str, Any]:
        info = super().card_info()
        info.update(
            # The weights serve the recipe's own task ("denoise"), not the training name ("denoise-fast").
            task=super().task,
            teacher=self.args.teacher,
            teacher_weight=self.args.teacher_weight,
            teacher_every=self.args.teacher_every,
        )
        return info
