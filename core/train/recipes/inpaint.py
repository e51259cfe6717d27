"""Training recipe for "inpaint": the FFC generator against a spectral-norm PatchGAN discriminator.

Each step draws a batch of LaMa-style masks (core.masks: thin, medium and thick strokes plus boxes,
at most 50% of the crop) seeded from the loop's torch generator, so a run is reproducible.

Losses (generator): L1 over the image, weighted `--hole-weight` times more inside the hole (PSNR in the
hole is what the benchmark measures), plus a small non-saturating adversarial loss from the patch
discriminator on the composite (known pixels pasted back) and an optional feature-matching loss on
the discriminator's features. The adversarial terms start after `--adv-start` of the steps, once the
reconstruction is reasonable, and their weights are kept small so the fill stays faithful.
Discriminator: patches that touch the hole in the composite are fake, every patch of the clean crop is
real; patches of the composite made only of known pixels are left out (they are identical to real).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.archs import build_arch
from core.masks import KINDS, random_mask, random_masks
from core.train.recipe import Recipe

MASK_WEIGHTS = (0.3, 0.4, 0.3)  # thin, medium, thick


class InpaintRecipe(Recipe):
    task = "inpaint"
    arch = "inpaint_ffc"
    default_steps = 4000
    default_batch = 16
    default_crop = 256
    default_lr = 5e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--width", type=int, default=32, help="generator channels at full resolution")
        parser.add_argument(
            "--depth", type=int, default=3, help="down-sampling levels (FFC blocks at 1/2**depth)"
        )
        parser.add_argument("--blocks", type=int, default=5, help="FFC residual blocks")
        parser.add_argument("--hole-weight", type=float, default=6.0, help="L1 weight inside the hole")
        parser.add_argument("--adv-weight", type=float, default=0.005, help="adversarial loss weight")
        parser.add_argument("--fm-weight", type=float, default=0.0, help="feature-matching loss weight")
        parser.add_argument("--adv-start", type=float, default=0.25, help="fraction of steps before the GAN")
        parser.add_argument("--d-lr", type=float, default=2e-4, help="discriminator learning rate")
        parser.add_argument("--d-width", type=int, default=32, help="discriminator channels (first layer)")
        parser.add_argument(
            "--upsample",
            choices=("bilinear", "nearest"),
            default="bilinear",
            help="the decoder's upsampling while training (the shipped weights: nearest); trained"
            " weights always run bilinear, which filled better with them too",
        )

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        for up in self.model.up:  # a training setting, not stored: the weights run bilinear
            up.mode = args.upsample
        self.discriminator = build_arch("patch_discriminator", channels=args.channels, width=args.d_width)
        self.discriminator = self.discriminator.to(device)
        self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=args.d_lr, betas=(0.5, 0.999))
        self.steps_taken = 0
        self.started: float | None = None

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"channels": args.channels, "width": args.width, "depth": args.depth, "blocks": args.blocks}

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        batch, _, height, width = clean.shape
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        masks = random_masks(batch, height, width, seed, KINDS, MASK_WEIGHTS)
        mask = torch.from_numpy(masks[:, None].astype(np.float32)).to(clean.device, non_blocking=True)
        self._hole = mask  # loss() weights the hole and sees only the prediction and the target
        return (clean, mask), clean

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """L1 weighted --hole-weight times more inside the hole of the last batch."""
        weight = 1.0 + (self.args.hole_weight - 1.0) * self._hole
        return (weight * (pred - target).abs()).mean()

    def _progress(self) -> float:
        """Fraction of the run done: steps, or time when --time-limit will end it first (as the loop)."""
        if self.started is None:
            self.started = time.monotonic()
        fraction = self.steps_taken / max(self.args.steps, 1)
        if getattr(self.args, "time_limit", 0):
            fraction = max(fraction, (time.monotonic() - self.started) / self.args.time_limit)
        return fraction

    def step(self, clean: torch.Tensor, generator: torch.Generator, autocast: Any) -> dict[str, torch.Tensor]:
        (image, mask), target = self.make_batch(clean, generator)
        self.model.train()
        with autocast():
            pred = self.model(image, mask)
        pred = pred.float()
        comp = mask * pred + (1.0 - mask) * image
        use_gan = self.args.adv_weight > 0 and self._progress() >= self.args.adv_start
        self.steps_taken += 1
        # 0-d tensors, not floats: converting would sync the GPU every step (the loop converts to log).
        losses: dict[str, torch.Tensor] = {}

        # Discriminator: real crops vs composites, judged only on patches that touch the hole.
        if use_gan:
            self.discriminator.train()
            with autocast():
                real_logits, _ = self.discriminator(image)
                fake_logits, _ = self.discriminator(comp.detach())
            hole = F.adaptive_max_pool2d(mask, fake_logits.shape[-2:])
            d_loss = F.softplus(-real_logits.float()).mean() + _masked_mean(
                F.softplus(fake_logits.float()), hole
            )
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_optimizer.step()
            losses["d"] = d_loss.detach()

        # Generator: hole-weighted L1 (+ adversarial and feature matching once the GAN is on).
        rec = self.loss(pred, target)  # with a teacher (core.train.distill), also the imitation term
        g_loss = rec
        losses["l1"] = rec.detach()
        if use_gan:
            self.discriminator.requires_grad_(False)
            with autocast():
                fake_logits, fake_feats = self.discriminator(comp)
            hole = F.adaptive_max_pool2d(mask, fake_logits.shape[-2:])
            adv = _masked_mean(F.softplus(-fake_logits.float()), hole)
            g_loss = g_loss + self.args.adv_weight * adv
            losses["adv"] = adv.detach()
            if self.args.fm_weight > 0:
                with torch.no_grad(), autocast():
                    _, real_feats = self.discriminator(image)
                fm = sum(F.l1_loss(f.float(), r.float()) for f, r in zip(fake_feats, real_feats))
                g_loss = g_loss + self.args.fm_weight * fm
                losses["fm"] = fm.detach()
            self.discriminator.requires_grad_(True)
        self.optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        return losses

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean PSNR (dB) inside the hole of fixed medium masks (seed = image index) on whole images."""
        self.model.eval()
        scores = []
        for index, img in enumerate(images):
            _, _, height, width = img.shape
            mask_np = random_mask(height, width, "medium", seed=index)
            mask = torch.from_numpy(mask_np.astype(np.float32))[None, None].to(img.device)
            pred = self.model(img, mask).float().clamp(0, 1)
            err = ((pred - img) ** 2).mean(dim=1, keepdim=True)[mask > 0]
            mse = float(err.mean()) if err.numel() else 0.0
            scores.append(10 * np.log10(1.0 / max(mse, 1e-12)))
        return float(np.mean(scores)) if scores else 0.0

    def card_info(self) -> dict[str, Any]:
        a = self.args
        return {
            "task": self.task,
            "masks": {"kinds": list(KINDS), "weights": list(MASK_WEIGHTS), "max_cover": 0.5},
            "upsample_while_training": self.args.upsample,
            "losses": {
                "hole_weight": a.hole_weight,
                "adv_weight": a.adv_weight,
                "fm_weight": a.fm_weight,
                "adv_start": a.adv_start,
            },
            "validation_metric": "PSNR inside the hole, medium masks",
            "discriminator": {"arch": "patch_discriminator", "width": a.d_width, "lr": a.d_lr},
            "gray": "gray images run through the color network replicated to RGB; the mean is taken back",
        }

    def state(self) -> dict[str, Any]:
        state = super().state()
        state["discriminator"] = self.discriminator.state_dict()
        state["d_optimizer"] = self.d_optimizer.state_dict()
        state["steps_taken"] = self.steps_taken
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.discriminator.load_state_dict(state["discriminator"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.steps_taken = int(state.get("steps_taken", 0))


def _masked_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


RECIPE = InpaintRecipe
