"""Recipe `upscale`: one network for x2, x3 and x4 on luma (the VDSR protocol).

Training pairs are made on the device: a clean luma crop (gray images as they are, color images
converted to luma by the loader) is down-sampled with MATLAB's antialiased bicubic kernel (the same
weights as `core.imresize`, as a strided convolution) and rounded to 8 bits, as the benchmark's
low-resolution inputs are. Each batch uses one scale, drawn with `--scale-weights`; the high-resolution
crop is `--lr-patch * scale` pixels so every scale costs about the same per step (the network runs at
low resolution). L1 loss.

The learning rate follows a cosine schedule over the training's progress, measured in steps or, when
`--time-limit` is given, in elapsed time, whichever is further: a run cut by the time limit still ends
with an annealed learning rate.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import torch

from core.imresize import torch_downsample
from core.train.recipe import Recipe

# Full-range luma in [0, 1] maps to MATLAB's Y on 16..235: errors shrink by 219/255, PSNR grows by this.
Y_RANGE_GAIN_DB = 20.0 * math.log10(255.0 / 219.0)


def _floats(text: str) -> list[float]:
    return [float(v) for v in str(text).split(",") if v.strip()]


class TimedRecipe(Recipe):
    """A recipe whose learning rate follows warm-up + cosine over max(step, time) progress."""

    warmup = 0.03
    final_fraction = 0.01

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        self.steps_done = 0
        self.started = time.monotonic()
        # NHWC: tensor cores and the CPU's oneDNN kernels (AMX above all) prefer it.
        self.model = self.model.to(memory_format=torch.channels_last)

    def progress(self) -> float:
        done = self.steps_done / max(self.args.steps, 1)
        if getattr(self.args, "time_limit", 0):
            done = max(done, (time.monotonic() - self.started) / self.args.time_limit)
        return min(done, 1.0)

    def learning_rate(self) -> float:
        p, peak = self.progress(), self.args.lr
        if p < self.warmup:
            return peak * max(p / self.warmup, 0.02)
        t = (p - self.warmup) / (1.0 - self.warmup)
        low = peak * self.final_fraction
        return low + (peak - low) * 0.5 * (1.0 + math.cos(math.pi * t))

    def step(self, clean: torch.Tensor, generator: torch.Generator, autocast: Any) -> dict[str, float]:
        lr = self.learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        inputs, target = self.make_batch(clean, generator)
        self.model.train()
        with autocast():
            pred = self.model(*inputs)
        loss = self.loss(pred.float(), target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.steps_done += 1
        return {"loss": float(loss.detach()), "lr": lr}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "steps_done": self.steps_done}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.steps_done = int(state.get("steps_done", 0))

    def to_device_layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels, as a low-resolution image saved to a file is."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


class UpscaleRecipe(TimedRecipe):
    task = "upscale"
    arch = "sr_resnet"
    default_steps = 20000
    default_batch = 32
    default_crop = 144  # divisible by 2, 3 and 4 (and by 12); gray400 crops are 180 pixels
    default_lr = 4e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.set_defaults(channels=1)  # luma, the VDSR protocol; color is Y by network + CbCr bicubic
        parser.add_argument("--scales", default="2,3,4", help="scales the network learns")
        parser.add_argument("--scale-weights", default="0.4,0.2,0.4", help="how often each scale is drawn")
        parser.add_argument("--lr-patch", type=int, default=48, help="low-resolution crop side")
        parser.add_argument("--features", type=int, default=64)
        parser.add_argument("--blocks", type=int, default=16)

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "channels": args.channels,
            "features": args.features,
            "blocks": args.blocks,
            "scales": [int(s) for s in _floats(args.scales)],
        }

    def __init__(self, args: argparse.Namespace, device: torch.device):
        super().__init__(args, device)
        self.scales = self.hparams["scales"]
        weights = _floats(args.scale_weights)
        if len(weights) != len(self.scales):
            weights = [1.0] * len(self.scales)
        self.scale_weights = torch.tensor(weights, dtype=torch.float64)

    def pick_scale(self, generator: torch.Generator) -> int:
        return self.scales[int(torch.multinomial(self.scale_weights, 1, generator=generator))]

    def make_pair(self, hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop `hr` to a multiple of `scale` and make its 8-bit MATLAB-bicubic low-resolution copy."""
        h, w = hr.shape[-2:]
        hr = hr[..., : h - h % scale, : w - w % scale]
        return quantize(torch_downsample(hr, scale)), hr

    def make_batch(self, clean: torch.Tensor, generator: torch.Generator):
        scale = self.pick_scale(generator)
        side = min(self.args.lr_patch * scale, clean.shape[-1], clean.shape[-2])
        lr, hr = self.make_pair(clean[..., :side, :side], scale)
        return (self.to_device_layout(lr), scale), hr

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean over scales of the Y PSNR (16..235 scale, `scale` border pixels cropped)."""
        self.model.eval()
        model = getattr(self.model, "module", self.model)
        scores = []
        for scale in self.scales:
            for img in images:
                lr, hr = self.make_pair(img.to(self.device), scale)
                pred = quantize(model(lr, scale))
                diff = (pred - hr)[..., scale:-scale, scale:-scale]
                mse = float(torch.mean(diff.double() ** 2))
                scores.append(10.0 * math.log10(1.0 / max(mse, 1e-12)) + Y_RANGE_GAIN_DB)
        return sum(scores) / max(len(scores), 1)

    def card_info(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "scales": self.scales,
            "input": "luma (BT.601, full range) in [0, 1]",
            "degradation": "MATLAB bicubic down-sampling with antialiasing, rounded to 8 bits",
            "lr_patch": self.args.lr_patch,  # the crop is lr_patch × scale: --crop alone does not say
        }


RECIPE = UpscaleRecipe
