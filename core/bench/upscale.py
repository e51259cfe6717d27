"""`lacuna bench upscale --set FOLDER --scale {2,3,4} [--method ID ...] [--limit N] [--json]`.

The protocol of the super-resolution literature (SRCNN, VDSR, EDSR, SwinIR):
- the ground truth is read as RGB and cropped to a multiple of the scale ("modcrop");
- the low-resolution input is MATLAB's `imresize(hr, 1/scale, 'bicubic')` (antialiased; our
  `core.imresize`, float64), rounded and clipped to 8 bits, as a saved LR image is;
- each method runs through `core.repair.run_repair` on an 8-bit RGB document of that input (the path
  the app uses); the result is clipped to [0, 255] and rounded to 8 bits;
- PSNR and SSIM (Gaussian 11x11, σ 1.5) on Y of YCbCr (BT.601, MATLAB's rgb2ycbcr, 16..235, not
  rounded), peak 255, with `scale` pixels cropped from every border.
Speed is the median over images of seconds per output megapixel on the device used.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from core.bench.common import (
    MethodScores,
    add_run_arguments,
    backend_contexts,
    backends_used,
    emit,
    load_set,
    variants,
)
from core.bench.metrics import psnr, rgb_to_y, ssim
from core.documents import ImageDoc
from core.imresize import imresize
from core.repair_cli import parse_params


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def low_resolution(hr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB bicubic down-sampling, rounded to 8 bits."""
    return np.clip(np.round(imresize(hr, 1.0 / scale)), 0, 255)


def y_scores(result: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) on Y with `scale` border pixels cropped; result rounded to 8 bits first."""
    out = np.round(np.clip(np.asarray(result, np.float64), 0.0, 255.0))
    b = scale
    y_out, y_hr = rgb_to_y(out)[b:-b, b:-b], rgb_to_y(hr)[b:-b, b:-b]
    return psnr(y_out, y_hr), ssim(y_out, y_hr)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench upscale", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="folder of ground-truth images (a bench set)")
    p.add_argument("--scale", type=int, required=True, choices=[2, 3, 4])
    p.add_argument("--method", nargs="+", default=None, help="method ids (default: bicubic + learned)")
    add_run_arguments(p)
    return p


def main(argv: list[str]) -> int:
    from core.bench.denoise import device_name
    from core.methods import get_method, methods
    from core.repair import run_repair

    args = build_parser().parse_args(argv)
    ids = args.method or [
        c.id for c in methods("upscale") if c.id in ("upscale-bicubic", "upscale-learned") and c.available
    ]
    cards = {mid: get_method(mid).card for mid in ids}
    extra = parse_params(args.param)
    images = load_set(args.set, gray=False)
    if args.limit:
        images = images[: args.limit]
    plan = variants(ids, args.backend)
    contexts = backend_contexts(args, plan)
    for _label, mid, backend in plan:  # warm-up (imports, weights, ONNX export) so speed is steady-state
        if cards[mid].kind != "zero-shot":
            tiny = ImageDoc(pixels=images[0][1][None, :24, :24].astype(np.float32), dtype="uint8")
            run_repair(tiny, "upscale", method=mid, ctx=contexts[backend], scale=args.scale)

    rows: list[dict[str, Any]] = []
    scores = MethodScores([label for label, _mid, _backend in plan])
    for name, image in images:
        hr = modcrop(image, args.scale)
        doc = ImageDoc(
            pixels=low_resolution(hr, args.scale)[None].astype(np.float32), dtype="uint8", mode="RGB"
        )
        row: dict[str, Any] = {"image": name}
        megapixels = hr.shape[0] * hr.shape[1] / 1e6
        for label, mid, backend in plan:
            names = {p.name for p in cards[mid].params}
            params = {k: v for k, v in extra.items() if k in names}
            started = time.perf_counter()
            result = run_repair(doc, "upscale", method=mid, ctx=contexts[backend], scale=args.scale, **params)
            seconds = time.perf_counter() - started
            p, s = y_scores(result.pixels[0], hr, args.scale)
            scores.add(row, label, p, s, seconds / megapixels)
        rows.append(row)

    summary: dict[str, Any] = {
        "set": args.set,
        "images": len(images),
        "scale": args.scale,
        "protocol": "MATLAB bicubic LR (8-bit), output rounded to 8 bits, Y (16..235), border = scale",
        "device": device_name(contexts[plan[0][2]]),
        **backends_used(contexts),
    }
    scores.summarise(summary)
    extras = f", {' '.join(args.param)}" if args.param else ""
    title = f"Super-resolution ×{args.scale}, {os.path.basename(os.path.normpath(args.set))}{extras}"
    emit(rows, summary, args.json, title)
    return 0
