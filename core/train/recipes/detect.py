"""Training recipe for "detect": the reconstructive autoencoder and segmentation head of
core/archs/detect.py, on clean crops damaged on the fly by core.detect.damage.

Each crop first gets the look of an old print or scan at random (sepia toning, fading), then damage
of a random mix of kinds (`--clean-share` of the crops stay clean, so the head learns to propose
nothing; those get the print look at its strongest, lifted highlights and a softer scan), with
`--fine-lines` some crops' lines drawn at any width, with
`--rims` a dark fold shadow beside some bright marks, then the noise of a scan (grain, a little blur,
JPEG). The damage mask is the target; the clean crop with the same scan noise is the autoencoder's
target.

Losses: the head's binary cross-entropy (damage weighted `--pos-weight` times, since it covers a few
percent of the pixels, and with `--weigh-by-change` also by how much it changes the pixel) plus a
soft Dice term, and the autoencoder's L1 to the clean crop.
Validation: F1 of the mask at probability 0.5 on whole held-out images with fixed-seed mixed damage.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.archs.detect import DamageDetector
from core.detect.damage import KINDS, STAINS, draw, fold_shadows
from core.luma import luma_of
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
        parser.add_argument(
            "--blocks", type=int, default=0, help="residual blocks at the coarsest level of both U-Nets"
        )
        parser.add_argument("--pos-weight", type=float, default=3.0, help="BCE weight of damaged pixels")
        parser.add_argument(
            "--weigh-by-change",
            type=float,
            default=0.0,
            metavar="REF",
            help="scale each damaged pixel's BCE weight by its change over REF (clamped to 0.25-3): "
            "the marks that cost a repair most when missed count most (0: off)",
        )
        parser.add_argument("--rec-weight", type=float, default=1.0, help="autoencoder L1 weight")
        parser.add_argument(
            "--clean-share", type=float, default=0.1, help="share of crops left undamaged (negatives)"
        )
        parser.add_argument(
            "--kind-weights",
            default="",
            metavar="KIND=W,...",
            help="draw these damage kinds W times as often (e.g. blotch=2,scratch=1.5)",
        )
        parser.add_argument(
            "--stains",
            default=",".join(STAINS),
            help=f"stain colours to draw, of {', '.join(STAINS)} (repeat one to draw it more often)",
        )
        parser.add_argument(
            "--bright", type=float, default=1.0, help="below 1: fewer bright marks, more dark ones"
        )
        parser.add_argument(
            "--rims",
            type=float,
            default=0.0,
            metavar="SHARE",
            help="give this share of bright marks a real crack's dark rim (core.detect.damage.fold_shadows)",
        )
        parser.add_argument(
            "--fine-lines",
            type=float,
            default=0.0,
            metavar="SHARE",
            help="draw this share of damaged crops' scratches, creases and hairs at any width, some "
            "straight along a row or column (OpenCV's lines come in few widths; core.detect.damage)",
        )

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        hp = {"channels": 3, "width": args.width, "seg_width": args.seg_width, "levels": args.levels}
        # Only a deepened detector names its blocks, so the files without them keep their description.
        return hp | {"blocks": args.blocks} if args.blocks else hp

    def adapt_start(self, model: torch.nn.Module) -> torch.nn.Module | None:
        """--init from a smaller detector: widened to --width / --seg-width and deepened to --blocks,
        computing the same."""
        hp = self.hyperparameters(self.args)
        if not isinstance(model, DamageDetector) or model.levels != hp["levels"]:
            return None
        try:
            return model.widened(hp["width"], hp["seg_width"], hp.get("blocks", 0))
        except ValueError:
            return None

    @property
    def kind_chance(self) -> dict[str, float]:
        """Each kind's chance to be drawn on a damaged crop: 0.35, times its --kind-weights factor."""
        factors = {k: 1.0 for k in KINDS}
        for pair in filter(None, self.args.kind_weights.split(",")):
            kind, _, factor = pair.partition("=")
            if kind.strip() not in factors:
                raise ValueError(f"--kind-weights: unknown damage {kind!r}; choose from {', '.join(KINDS)}")
            factors[kind.strip()] = float(factor)
        return {k: min(0.95, 0.35 * f) for k, f in factors.items()}

    @property
    def draw_options(self) -> dict[str, Any]:
        """The damage's colours: `draw`'s stains and bright arguments."""
        names = tuple(s.strip() for s in self.args.stains.split(",") if s.strip())
        if not names or any(s not in STAINS for s in names):
            raise ValueError(f"--stains: choose from {', '.join(STAINS)}")
        return {"stains": names, "bright": self.args.bright}

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Returns ((damaged,), stack of [truth mask, clean target]) as tensors on the crops' device."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        crops = clean.permute(0, 2, 3, 1).cpu().numpy()
        damaged, truths, targets = [], [], []
        for crop in crops:
            if rng.random() < self.args.clean_share:
                # A negative: an old print's look at its strongest, and nothing to find in it.
                crop = _print_look(_as_rgb(crop), rng, strong=True)
                hurt, truth = crop.copy(), np.zeros(crop.shape[:2], bool)
                hurt, crop = _scan_noise(hurt, crop, rng, soft=True)
            else:
                crop = _print_look(_as_rgb(crop), rng)
                chosen = tuple(k for k in KINDS if rng.random() < self.kind_chance[k]) or (
                    KINDS[int(rng.integers(len(KINDS)))],
                )
                # Drawn only when asked for, so that runs without it keep their random stream.
                fine = self.args.fine_lines > 0 and rng.random() < self.args.fine_lines
                options = self.draw_options | {"fine_lines": fine}
                hurt, truth = _draw(crop, chosen, rng, float(rng.uniform(0.3, 1.5)), options)
                hurt, truth = fold_shadows(crop, hurt, truth, rng, self.args.rims)
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
        self, logits: torch.Tensor, recon: torch.Tensor, target: torch.Tensor, damaged: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        truth, clean = target[:, :1], target[:, 1:]
        weight = 1.0 + (self.args.pos_weight - 1.0) * truth * self._visibility(damaged, clean)
        bce = F.binary_cross_entropy_with_logits(logits, truth, weight=weight)
        prob = torch.sigmoid(logits)
        dice = 1.0 - (2.0 * (prob * truth).sum() + 1.0) / (prob.sum() + truth.sum() + 1.0)
        rec = F.l1_loss(recon, clean)
        return {"bce": bce, "dice": dice, "rec": rec}

    def _visibility(self, damaged: torch.Tensor, clean: torch.Tensor) -> torch.Tensor | float:
        """A damaged pixel's weight factor: its change (largest over channels) over --weigh-by-change.

        Missing a mark costs a repair its squared change, so a faint mark missed costs little and a
        black scratch on a white collar a lot; F1 counts both alike. (The scan noise is on both images,
        so the difference is the damage's; JPEG of the damaged one adds a little.)"""
        reference = self.args.weigh_by_change
        if reference <= 0:
            return 1.0
        change = (damaged - clean).abs().amax(dim=1, keepdim=True)
        return (change / reference).clamp(0.25, 3.0)

    def step(self, clean: torch.Tensor, generator: torch.Generator, autocast: Any) -> dict[str, torch.Tensor]:
        (image,), target = self.make_batch(clean, generator)
        self.model.train()
        with autocast():
            logits, recon = self.model(image)
        terms = self.loss_terms(logits.float(), recon.float(), target, image)
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
            "losses": {
                "pos_weight": a.pos_weight,
                "weigh_by_change": a.weigh_by_change,
                "rec_weight": a.rec_weight,
                "dice": 1.0,
            },
            "clean_share": a.clean_share,
            "kind_weights": a.kind_weights,
            "stains": list(self.draw_options["stains"]),
            "bright": a.bright,
            "rims": a.rims,
            "fine_lines": a.fine_lines,
            "validation_metric": "pixel F1 at probability 0.5, mixed damage on held-out training images",
            "gray": "gray images run through the color network replicated to RGB",
        }


def _draw(crop: np.ndarray, kinds: tuple[str, ...], rng: np.random.Generator, amount: float, options):
    """Damage a crop; a gray crop (replicated to RGB) gets gray damage, as a gray photo would."""
    if np.array_equal(crop[..., 0], crop[..., 1]) and np.array_equal(crop[..., 0], crop[..., 2]):
        hurt, truth = draw(crop[..., :1], kinds, rng, amount=amount, **options)
        return np.repeat(hurt, 3, axis=-1), truth
    return draw(crop, kinds, rng, amount=amount, **options)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.float32)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _print_look(image: np.ndarray, rng: np.random.Generator, strong: bool = False) -> np.ndarray:
    """Sometimes sepia-toned or faded, as old prints are (before any damage).

    `strong` (the clean negatives): more often, and with lifted highlights too, so that bright smooth
    areas of a toned print (faces, collars, sky) are seen as content, not as stains or tears.
    """
    chance = 0.7 if strong else 0.3
    if rng.random() < chance:
        luma = luma_of(image)
        tint = np.array([1.0, rng.uniform(0.8, 0.95), rng.uniform(0.55, 0.8)], np.float32)
        image = luma[..., None] * tint
    if strong and rng.random() < 0.5:
        image = np.clip(image, 0.0, 1.0) ** rng.uniform(0.4, 0.8)  # over-exposed, pale highlights
    if strong and rng.random() < 0.3:
        image = image * _vignette(image.shape[:2], rng)[..., None]  # a portrait's dark rim, no tear
    if rng.random() < chance:
        keep = rng.uniform(0.55, 1.0)
        image = image * keep + (1.0 - keep) * rng.uniform(0.3, 0.7)
    return image.astype(np.float32)


def _vignette(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth darkening towards a random off-crop centre's far side, as an oval portrait's rim."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = rng.uniform(-0.5, 1.5) * height, rng.uniform(-0.5, 1.5) * width
    distance = np.hypot(yy - cy, xx - cx) / max(height, width)
    return np.clip(1.0 - rng.uniform(0.5, 1.0) * np.clip(distance - 0.3, 0.0, None), 0.05, 1.0)


def _scan_noise(damaged: np.ndarray, clean: np.ndarray, rng: np.random.Generator, soft: bool = False):
    """The same grain, blur and JPEG on the damaged crop and its clean target (damage is under them).

    `soft` (the clean negatives): blur more often and up to a soft scan's 2 pixels.
    """
    import cv2

    if rng.random() < 0.5:
        grain = rng.normal(0.0, rng.uniform(0.005, 0.04), damaged.shape[:2] + (1,)).astype(np.float32)
        damaged, clean = damaged + grain, clean + grain
    if rng.random() < (0.5 if soft else 0.25):
        sigma = rng.uniform(0.4, 2.0 if soft else 1.0)
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
