"""Training recipe for "detect": the reconstructive autoencoder and segmentation head of
core/archs/detect.py, on clean crops damaged on the fly by core.detect.damage.

Each crop first gets the look of an old print or scan at random (sepia toning, fading), then damage
of a random mix of kinds (one crop in ten stays clean, so the head learns to propose nothing), then
the noise of a scan (grain, a little blur, JPEG). The damage mask is the target; the clean crop with
the same scan noise is the autoencoder's target.

Losses: the head's binary cross-entropy (damage weighted `--pos-weight` times, since it covers a few
percent of the pixels) plus a soft Dice term, and the autoencoder's L1 to the clean crop.
Validation: F1 of the mask at probability 0.5 on whole held-out images with fixed-seed mixed damage.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.detect.damage import KINDS, draw
from core.train.recipe import Recipe


class DetectRecipe(Recipe):
    task = "detect"
    arch = "damage_detector"
    default_steps = 10000
    default_batch = 8
    default_crop = 96
    default_lr = 1e-3
    validation_key = "val_f1"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--width", type=int, default=24, help="autoencoder channels at full resolution")
        parser.add_argument("--seg-width", type=int, default=24, help="segmentation head channels")
        parser.add_argument("--levels", type=int, default=3, help="down-sampling stages of both U-Nets")
        parser.add_argument("--pos-weight", type=float, default=3.0, help="BCE weight of damaged pixels")
        parser.add_argument("--rec-weight", type=float, default=1.0, help="autoencoder L1 weight")

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"channels": 3, "width": args.width, "seg_width": args.seg_width, "levels": args.levels}

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Returns ((damaged,), stack of [truth mask, clean target]) as tensors on the crops' device."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        crops = clean.permute(0, 2, 3, 1).cpu().numpy()
        damaged, truths, targets = [], [], []
        for crop in crops:
            crop = _print_look(_as_rgb(crop), rng)
            if rng.random() < 0.1:
                hurt, truth = crop.copy(), np.zeros(crop.shape[:2], bool)
            else:
                chosen = tuple(k for k in KINDS if rng.random() < 0.35) or (
                    KINDS[int(rng.integers(len(KINDS)))],
                )
                hurt, truth = _draw(crop, chosen, rng, float(rng.uniform(0.3, 1.5)))
            hurt, crop = _scan_noise(hurt, crop, rng)
            damaged.append(hurt)
            truths.append(truth)
            targets.append(crop)
        device = clean.device
        x = torch.from_numpy(np.stack(damaged)).permute(0, 3, 1, 2).to(device)
        truth = torch.from_numpy(np.stack(truths)[:, None].astype(np.float32)).to(device)
        target = torch.from_numpy(np.stack(targets)).permute(0, 3, 1, 2).to(device)
        return (x,), torch.cat([truth, target], dim=1)

    def loss_terms(
        self, logits: torch.Tensor, recon: torch.Tensor, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        truth, clean = target[:, :1], target[:, 1:]
        weight = 1.0 + (self.args.pos_weight - 1.0) * truth
        bce = F.binary_cross_entropy_with_logits(logits, truth, weight=weight)
        prob = torch.sigmoid(logits)
        dice = 1.0 - (2.0 * (prob * truth).sum() + 1.0) / (prob.sum() + truth.sum() + 1.0)
        rec = F.l1_loss(recon, clean)
        return {"bce": bce, "dice": dice, "rec": rec}

    def step(self, clean: torch.Tensor, generator: torch.Generator, autocast: Any) -> dict[str, torch.Tensor]:
        (image,), target = self.make_batch(clean, generator)
        self.model.train()
        with autocast():
            logits, recon = self.model(image)
        terms = self.loss_terms(logits.float(), recon.float(), target)
        loss = terms["bce"] + terms["dice"] + self.args.rec_weight * terms["rec"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        return {k: v.detach() for k, v in terms.items()}

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """F1 of the mask at probability 0.5 over held-out images with fixed mixed damage (seed = index)."""
        self.model.eval()
        hits = proposed = actual = 0
        for index, img in enumerate(images):
            clean = _as_rgb(img[0].permute(1, 2, 0).cpu().numpy())
            damaged, truth = draw(clean, "mixed", np.random.default_rng(index))
            x = torch.from_numpy(damaged).permute(2, 0, 1)[None].to(img.device)
            logits, _ = self.model(x)
            found = (logits[0, 0] > 0).cpu().numpy()
            hits += int(np.count_nonzero(found & truth))
            proposed += int(np.count_nonzero(found))
            actual += int(np.count_nonzero(truth))
        return 2.0 * hits / max(proposed + actual, 1)

    def describe_validation(self, value: float) -> str:
        return f"validation F1 {value:.3f}"

    def card_info(self) -> dict[str, Any]:
        a = self.args
        return {
            "task": self.task,
            "damage": list(KINDS),
            "losses": {"pos_weight": a.pos_weight, "rec_weight": a.rec_weight, "dice": 1.0},
            "validation_metric": "pixel F1 at probability 0.5, mixed damage on held-out training images",
            "gray": "gray images run through the color network replicated to RGB",
        }


def _draw(crop: np.ndarray, kinds: tuple[str, ...], rng: np.random.Generator, amount: float):
    """Damage a crop; a gray crop (replicated to RGB) gets gray damage, as a gray photo would."""
    if np.array_equal(crop[..., 0], crop[..., 1]) and np.array_equal(crop[..., 0], crop[..., 2]):
        hurt, truth = draw(crop[..., :1], kinds, rng, amount=amount)
        return np.repeat(hurt, 3, axis=-1), truth
    return draw(crop, kinds, rng, amount=amount)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.float32)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _print_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sometimes sepia-toned or faded, as old prints are (before any damage)."""
    if rng.random() < 0.3:
        luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
        tint = np.array([1.0, rng.uniform(0.8, 0.95), rng.uniform(0.55, 0.8)], np.float32)
        image = luma[..., None] * tint
    if rng.random() < 0.3:
        keep = rng.uniform(0.55, 1.0)
        image = image * keep + (1.0 - keep) * rng.uniform(0.3, 0.7)
    return image.astype(np.float32)


def _scan_noise(damaged: np.ndarray, clean: np.ndarray, rng: np.random.Generator):
    """The same grain, blur and JPEG on the damaged crop and its clean target (damage is under them)."""
    import cv2

    if rng.random() < 0.5:
        grain = rng.normal(0.0, rng.uniform(0.005, 0.04), damaged.shape[:2] + (1,)).astype(np.float32)
        damaged, clean = damaged + grain, clean + grain
    if rng.random() < 0.25:
        sigma = rng.uniform(0.4, 1.0)
        damaged = cv2.GaussianBlur(damaged, (0, 0), sigma)
        clean = cv2.GaussianBlur(clean, (0, 0), sigma)
    damaged, clean = np.clip(damaged, 0, 1), np.clip(clean, 0, 1)
    if rng.random() < 0.25:
        quality = int(rng.integers(50, 95))
        damaged = _jpeg(damaged, quality)
    return damaged.astype(np.float32), clean.astype(np.float32)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, data = cv2.imencode(
        ".jpg", np.round(image * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED).astype(np.float32).reshape(image.shape) / 255.0


RECIPE = DetectRecipe
