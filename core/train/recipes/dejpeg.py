"""Recipe `dejpeg`: a quality-blind JPEG artifact remover (gray with --channels 1, color with 3).

JPEG has no GPU implementation worth trusting, so each clean batch goes to the CPU as 8-bit crops and
every crop is encoded and decoded by Pillow (libjpeg, default settings: 4:2:0 chroma subsampling for
color) at its own quality, on a thread pool (Pillow releases the GIL while coding). Qualities are drawn
as q = qmin + (qmax - qmin) * u**2, so low qualities, where the artifacts are, come up most often.
A fraction of crops is shifted after compression so the network also meets block grids that do not
start at the image origin (cropped JPEGs). Gray training maps some crops to the 16..235 "studio"
range, which the Y channel of YCbCr (video, MATLAB's rgb2ycbcr, the LIVE1 protocol) has, so the
network meets both full-range and studio-range gray. L1 loss on the restored crop.
"""

from __future__ import annotations

import argparse
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.methods.dejpeg import jpeg_roundtrip
from core.train.recipes.upscale import TimedRecipe

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1))
    return _POOL


def compress_batch(clean: torch.Tensor, qualities: list[int]) -> torch.Tensor:
    """JPEG-compress every crop of a (B, C, H, W) batch in [0, 1]; returns the decoded batch."""
    arr = (clean.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy()
    arr = arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)
    decoded = list(_pool().map(jpeg_roundtrip, list(arr), qualities))
    out = np.stack(decoded)
    out = out[:, None] if out.ndim == 3 else out.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(out)).to(clean.device).float().div_(255.0)


class DejpegRecipe(TimedRecipe):
    task = "dejpeg"
    arch = "dejpeg_unet"
    default_steps = 8000
    default_batch = 16
    default_crop = 128
    default_lr = 3e-4

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--quality-min", type=int, default=10)
        parser.add_argument("--quality-max", type=int, default=90)
        parser.add_argument("--features", default="64,128,256,256", help="channels per level")
        parser.add_argument("--blocks", type=int, default=2, help="residual blocks per level")
        parser.add_argument("--shift-prob", type=float, default=0.2, help="crops with a shifted grid")
        parser.add_argument("--val-quality", type=int, default=10)
        parser.add_argument("--studio-prob", type=float, default=0.3, help="gray crops mapped to 16..235")

    def hyperparameters(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "channels": args.channels,
            "features": [int(f) for f in str(args.features).split(",")],
            "blocks": args.blocks,
        }

    def qualities(self, count: int, generator: torch.Generator) -> list[int]:
        u = torch.rand(count, generator=generator, dtype=torch.float64)
        lo, hi = self.args.quality_min, self.args.quality_max
        return [int(round(lo + (hi - lo) * float(v) ** 2)) for v in u]

    def make_batch(self, clean: torch.Tensor, generator: torch.Generator):
        batch = clean.shape[0]
        if clean.shape[1] == 1 and self.args.studio_prob > 0:
            studio = (torch.rand(batch, generator=generator) < self.args.studio_prob).to(clean.device)
            studio_range = (16.0 + 219.0 * clean) / 255.0
            clean = torch.where(studio[:, None, None, None], torch.round(studio_range * 255.0) / 255.0, clean)
        degraded = compress_batch(clean, self.qualities(batch, generator))
        if self.args.shift_prob > 0 and clean.shape[-1] > 16 and clean.shape[-2] > 16:
            # Crop 8 pixels off, at offset 0 (aligned grid) or, for some crops, a random offset.
            h, w = clean.shape[-2] - 8, clean.shape[-1] - 8
            shifted = torch.rand(batch, generator=generator) < self.args.shift_prob
            offsets = torch.randint(0, 8, (batch, 2), generator=generator) * shifted[:, None]
            idx = [(int(dy), int(dx)) for dy, dx in offsets]
            degraded = torch.stack([degraded[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(idx)])
            clean = torch.stack([clean[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(idx)])
        return (self.to_device_layout(degraded),), clean

    @torch.no_grad()
    def validate(self, images: list[torch.Tensor], generator: torch.Generator) -> float:
        """Mean PSNR (0..1 peak) of whole held-out images compressed at --val-quality."""
        self.model.eval()
        model = getattr(self.model, "module", self.model)
        scores = []
        for img in images:
            img = img.to(self.device)
            degraded = compress_batch(img, [self.args.val_quality])
            pred = torch.round(model(degraded).clamp(0, 1) * 255.0) / 255.0
            mse = float(torch.mean((pred - img).double() ** 2))
            scores.append(10.0 * math.log10(1.0 / max(mse, 1e-12)))
        return sum(scores) / max(len(scores), 1)

    def card_info(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "quality_range": [self.args.quality_min, self.args.quality_max],
            "encoder": f"Pillow {Image.__version__} (libjpeg), default settings",
        }


RECIPE = DejpegRecipe
