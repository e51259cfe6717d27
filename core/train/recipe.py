"""A training recipe: what network to build, how to degrade clean data, how to take a step.

The loop in `core.train.loop` is the same for every task; a recipe supplies the task-specific parts.
Subclasses override `build_model`, `make_batch` (clean crops -> network inputs and target) and, when
they need more than one network (a GAN), `step` and the state methods.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import torch
from torch import nn

from core.archs import build_arch


def one_cycle(optimizer: torch.optim.Optimizer, peak: float, steps: int):
    """Warm-up over 5% of the steps (at least two), then cosine annealing to peak/2500.

    OneCycleLR divides by zero when the warm-up rounds to no step, as in a 20-step smoke run.
    """
    total = max(int(steps), 3)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=peak, total_steps=total, pct_start=max(0.05, 2.0 / total), final_div_factor=100
    )


def resume_scheduler(scheduler: Any, saved: dict[str, Any]) -> None:
    """Restore a scheduler; resumed with another --steps, continue this run's schedule instead.

    Loading a OneCycleLR state built for fewer steps would end the run with "Tried to step N times".
    """
    if saved.get("total_steps") == getattr(scheduler, "total_steps", None):
        scheduler.load_state_dict(saved)
        return
    scheduler.last_epoch = int(saved.get("last_epoch", 0))
    scheduler._step_count = int(saved.get("_step_count", scheduler.last_epoch + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # get_lr() outside step() warns
        rates = scheduler.get_lr()
    for group, rate in zip(scheduler.optimizer.param_groups, rates):
        group["lr"] = rate


class Recipe:
    task = ""
    arch = ""
    default_steps = 20000
    default_batch = 16
    default_crop = 96
    default_lr = 2e-4
    validation_key = "val_psnr"  # the name of the validation score in the weights' training record

    def __init__(self, args: argparse.Namespace, device: torch.device):
        self.args = args
        self.device = device
        self.hparams = self.hyperparameters(args)
        self.model = build_arch(self.arch, **self.hparams).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=args.lr, weight_decay=0.0)
        self.scheduler = one_cycle(self.optimizer, args.lr, args.steps)

    # --- task-specific hooks -------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Task-specific options (noise range, scale, quality range, ...)."""

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"channels": args.channels}

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Degrade clean crops: returns (network inputs, target)."""
        raise NotImplementedError

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.l1_loss(pred, target)

    def after_init(self) -> None:
        """Called once the --init weights are in, before the first step (a fine-tune may adjust them)."""

    def card_info(self) -> dict[str, Any]:
        """Extra metadata stored with the weights (task, scale, noise range, ...)."""
        return {"task": self.task}

    # --- generic machinery -----------------------------------------------------------------------
    def step(self, clean: torch.Tensor, generator: torch.Generator, autocast: Any) -> dict[str, Any]:
        inputs, target = self.make_batch(clean, generator)
        self.model.train()
        with autocast():
            pred = self.model(*inputs)
        loss = self.loss(pred.float(), target)
        self.optimise(loss)
        # A 0-d tensor, not float(): converting here would sync the GPU every step; the loop
        # converts only when it logs.
        return {"loss": loss.detach()}

    def optimise(self, loss: torch.Tensor) -> None:
        """One optimiser step on `loss` (gradients clipped to norm 1) and one scheduler step."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean PSNR (dB) of the model on degraded copies of whole validation images."""
        self.model.eval()
        scores = []
        for img in images:
            h, w = img.shape[-2:]
            img = img[..., : h - h % 8, : w - w % 8]
            inputs, target = self.make_batch(img, generator)
            pred = self.model(*inputs).clamp(0, 1)
            mse = torch.mean((pred - target) ** 2).item()
            scores.append(10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item())
        return sum(scores) / max(len(scores), 1)

    def describe_validation(self, value: float) -> str:
        return f"validation PSNR {value:.2f} dB"

    def state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        resume_scheduler(self.scheduler, state["scheduler"])

    def export_model(self) -> nn.Module:
        return self.model
