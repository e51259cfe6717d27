"""Training recipe for `lacuna train denoise`: additive Gaussian noise over a range of levels.

Each crop gets its own σ drawn uniformly from [--sigma-min, --sigma-max] (0-255 scale) and the network
sees the noise-level map σ/255 as an extra channel. A fraction of the samples (--map-jitter) see a map
that is off by up to ±--jitter-range (relative), so that the blind default, which feeds an *estimated*
σ, degrades gracefully when the estimate is a little wrong.

The shipped weights (one H100 shared with other jobs, bf16 autocast, ~8 minutes each; the learning
rate anneals over --time-limit whatever the throughput turns out to be):

    python -m core.cli train denoise --channels 1 --out resources/weights/denoise-gray.safetensors \
        --data .gpu/data/images/train/gray400 .gpu/data/images/train/color432 \
        --steps 100000 --time-limit 480 --batch 16 --crop 128 --device cuda \
        --log-every 200 --val-every 2000 --checkpoint-every 2000
    python -m core.cli train denoise --channels 3 --out resources/weights/denoise-color.safetensors \
        --data .gpu/data/images/train/color432 \
        --steps 100000 --time-limit 480 --batch 16 --crop 128 --device cuda \
        --log-every 200 --val-every 2000 --checkpoint-every 2000

Gray training also reads the color folder as luma: more (and full-size) images than gray400 alone.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from core.train.recipe import Recipe


def _int_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.replace(" ", "").split(",") if v)


class DenoiseRecipe(Recipe):
    task = "denoise"
    arch = "unet_denoiser"
    default_steps = 20000
    default_batch = 16
    default_crop = 128
    default_lr = 3e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("denoise")
        group.add_argument("--sigma-min", type=float, default=0.0, help="lowest noise σ (0-255 scale)")
        group.add_argument("--sigma-max", type=float, default=55.0, help="highest noise σ (0-255 scale)")
        group.add_argument(
            "--map-jitter", type=float, default=0.1, help="fraction of samples with a wrong map"
        )
        group.add_argument(
            "--jitter-range", type=float, default=0.15, help="relative error of a jittered map"
        )
        group.add_argument("--loss", default="l1", choices=["l1", "l2", "charbonnier"])
        group.add_argument(
            "--widths", type=_int_tuple, default=(64, 128, 256, 512), help="e.g. 64,128,256,512"
        )
        group.add_argument(
            "--blocks", type=_int_tuple, default=(2,), help="residual blocks per level (one or per level)"
        )
        group.add_argument("--val-sigma", type=float, default=25.0, help="noise σ of the validation PSNR")

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        # Tensor cores and the CPU's oneDNN kernels (AMX above all) prefer NHWC: 1.8× (float32) and
        # 1.8× (bfloat16) faster training steps on the CPU, measured; inputs are converted in make_batch.
        self.model.to(memory_format=torch.channels_last)
        self._fixed_sigma: float | None = None
        self._noise_gen: torch.Generator | None = None

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        blocks = list(args.blocks)
        return {
            "channels": args.channels,
            "widths": list(args.widths),
            "blocks": blocks[0] if len(blocks) == 1 else blocks,
        }

    def make_batch(
        self, clean: torch.Tensor, generator: torch.Generator
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        b = clean.shape[0]
        args = self.args
        if self._fixed_sigma is not None:
            sigma = torch.full((b,), self._fixed_sigma)
        else:
            sigma = args.sigma_min + (args.sigma_max - args.sigma_min) * torch.rand(b, generator=generator)
        sigma = sigma / 255.0
        noise = torch.randn(
            clean.shape, generator=self._device_generator(generator, clean.device), device=clean.device
        )
        noisy = clean + noise * sigma.to(clean.device).view(b, 1, 1, 1)
        shown = sigma.clone()
        if self._fixed_sigma is None and args.map_jitter > 0:
            wrong = torch.rand(b, generator=generator) < args.map_jitter
            factor = 1.0 + args.jitter_range * (2.0 * torch.rand(b, generator=generator) - 1.0)
            shown = torch.where(wrong, sigma * factor, sigma)
        shown = shown.to(clean.device).view(b, 1, 1, 1).expand(b, 1, *clean.shape[-2:])
        return (noisy.contiguous(memory_format=torch.channels_last), shown), clean

    def _device_generator(self, generator: torch.Generator, device: torch.device) -> torch.Generator:
        """Noise is drawn on the training device (fast), seeded from the loop's CPU generator."""
        if self._noise_gen is None or self._noise_gen.device.type != device.type:
            self._noise_gen = torch.Generator(device=device)
        self._noise_gen.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        return self._noise_gen

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        kind = self.args.loss
        if kind == "l2":
            return nn.functional.mse_loss(pred, target)
        if kind == "charbonnier":
            return torch.sqrt((pred - target) ** 2 + 1e-6).mean()
        return nn.functional.l1_loss(pred, target)

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """PSNR at one fixed σ (--val-sigma), so successive validations compare."""
        self._fixed_sigma = float(self.args.val_sigma)
        try:
            return super().validate(images, generator)
        finally:
            self._fixed_sigma = None

    def card_info(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "sigma_range": [self.args.sigma_min, self.args.sigma_max],
            "map_jitter": [self.args.map_jitter, self.args.jitter_range],
            "loss": self.args.loss,
            "noise_map": "sigma/255 of the [0, 1] image, one extra input channel",
        }


RECIPE = DenoiseRecipe
