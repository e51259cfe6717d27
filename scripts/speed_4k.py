"""Seconds per 4K frame of the tiled learned methods, per precision and with and without batched tiles.

    python scripts/speed_4k.py --device cuda [--method denoise-learned ...] [--repeat 3] [--json OUT]

The frame is a 3840×2160 mosaic of CBSD68 bench images at their own resolution (no bench image is
used for training); upscaling gets a 1920×1080 crop of it, so its output is the 4K frame. Each method
runs through the engine (`run_repair`) with:
  - precision "auto" (float16 for the network's forward pass on CUDA: core.runtime.device) and float32;
  - tiles batched from free memory (the default) and one tile per call (`tile_batch=1`).
Reported: the median seconds per frame over --repeat runs after one warm-up, seconds per megapixel of
output, tiles per call, and the largest difference to float32 with one tile per call, in 8-bit levels.
On a CPU it runs too (batches are one tile there unless forced), slowly: use --size for a smaller frame.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = {  # method -> (task, parameters)
    "denoise-learned": ("denoise", {"sigma": 25}),
    "denoise-fast": ("denoise", {"sigma": 25}),
    "dejpeg-learned": ("dejpeg", {}),
    "dejpeg-fast": ("dejpeg", {}),
    "upscale-learned": ("upscale", {"scale": 2}),
    "upscale-fast": ("upscale", {"scale": 2}),
}


def mosaic(height: int, width: int, folder: Path) -> np.ndarray:
    """A (height, width, 3) uint8 frame tiled from the images of `folder`, row by row."""
    from PIL import Image

    frame = np.zeros((height, width, 3), np.uint8)
    files = sorted(folder.glob("*.png"))
    y = x = row_height = index = 0
    while y < height:
        with Image.open(files[index % len(files)]) as im:
            picture = np.asarray(im.convert("RGB"))
        index += 1
        h, w = min(picture.shape[0], height - y), min(picture.shape[1], width - x)
        frame[y : y + h, x : x + w] = picture[:h, :w]
        row_height = max(row_height, h)
        x += w
        if x >= width:
            x, y, row_height = 0, y + row_height, 0
    return frame


def measure(method: str, frame: np.ndarray, device: str, repeat: int) -> list[dict]:
    from core.documents import ImageDoc
    from core.repair import run_repair
    from core.runtime.context import RunContext

    task, params = METHODS[method]
    if task == "upscale":
        frame = frame[: frame.shape[0] // 2, : frame.shape[1] // 2]
    doc = ImageDoc(pixels=frame[None].astype(np.float32), dtype="uint8", mode="RGB")
    rows, reference = [], None
    for precision in ("float32", "auto"):
        for batch in (1, 0):
            ctx = RunContext(device=device, precision=precision, tile_batch=batch)
            run_repair(doc, task, method=method, ctx=ctx, **params)  # warm-up: weights, kernels
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                out = run_repair(doc, task, method=method, ctx=ctx, **params).pixels[0]
                times.append(time.perf_counter() - started)
            if reference is None:
                reference = out
            seconds = statistics.median(times)
            megapixels = out.shape[0] * out.shape[1] / 1e6
            rows.append(
                {
                    "method": method,
                    "device": device,
                    "precision": precision,
                    "tile_batch": batch or "auto",
                    "seconds_per_frame": round(seconds, 4),
                    "seconds_per_mp": round(seconds / megapixels, 5),
                    "output": f"{out.shape[1]}x{out.shape[0]}",
                    "max_diff_8bit": round(float(np.abs(out - reference).max()), 3),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    from core.methods import get_method

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--method", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--size", default="3840x2160", help="frame WIDTHxHEIGHT (4K by default)")
    p.add_argument("--data", default=str(ROOT.parent / "shared/datasets/images/bench/CBSD68"))
    p.add_argument("--json", default=None, help="write the rows here")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    frame = mosaic(height, width, Path(args.data))
    rows = []
    for method in args.method:
        card = get_method(method).card
        if not card.available:
            print(f"skipping {method}: {card.unavailable_reason}", file=sys.stderr)
            continue
        rows += measure(method, frame, args.device, args.repeat)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
