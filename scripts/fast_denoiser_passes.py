"""How much a flip/rotation self-ensemble adds to a fast denoiser: BSD68-style PSNR with 1, 2 or 4 passes.

The noise is the bench's (`core.bench.denoise.add_noise`, seed = image index), σ known, torch under
bfloat16 autocast as the torch-bf16 backend runs it; outputs rounded to 8 bits like the bench. Used for
the issue-21 notes in docs/benchmarks.md:

    python scripts/fast_denoiser_passes.py --weights resources/weights/denoise-fast-gray.safetensors \
        --set ../shared/datasets/images/bench/BSD68 --sigma 25
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from core.archs import load_weights
from core.bench.common import load_set
from core.bench.denoise import add_noise
from core.bench.metrics import psnr


def passes_of(model, noisy: np.ndarray, sigma: float, passes: int) -> list[np.ndarray]:
    """The model's answers on `passes` rotations of a gray image (0..255), each turned back."""
    x = torch.from_numpy(noisy[..., 0] / 255.0).float()[None, None]
    answers = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for k in range(passes):
            out = model(torch.rot90(x, k, (2, 3)), sigma / 255.0).float()
            answers.append(torch.rot90(out, -k, (2, 3))[0, 0].numpy() * 255.0)
    return answers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--set", required=True)
    p.add_argument("--sigma", type=float, default=25.0)
    args = p.parse_args()
    model, _info = load_weights(args.weights, "cpu")
    model.eval()
    scores: dict[int, list[float]] = {1: [], 2: [], 4: []}
    for index, (_name, clean) in enumerate(load_set(args.set, gray=True)):
        answers = passes_of(model, add_noise(clean, args.sigma, index), args.sigma, 4)
        for n in scores:
            mean = np.clip(np.round(sum(answers[:n]) / n), 0, 255)
            scores[n].append(psnr(mean[..., None], clean, 255.0))
    for n, values in scores.items():
        print(f"{n} pass{'es' if n > 1 else ''}: {np.mean(values):.3f} dB over {len(values)} images")


if __name__ == "__main__":
    main()
