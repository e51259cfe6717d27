"""`lacuna bench dejpeg --set FOLDER --quality Q [--method ID ...] [--limit N] [--json]`.

The protocol of the JPEG artifact removal literature (ARCNN, DnCNN-3, FBCNN), gray:
- gray images are used as they are; color images (LIVE1) are reduced to Y of YCbCr as MATLAB's
  rgb2ycbcr makes it (BT.601, 16..235) rounded to 8 bits, as DnCNN's protocol does (Pillow's "L",
  full-range luma, would give LIVE1 q10 JPEG 27.02 dB instead of the published 27.77);
- it is compressed at quality Q by Pillow's JPEG encoder (libjpeg with the IJG standard tables,
  baseline, default settings), as MATLAB's imwrite does, and decoded;
- each method runs through `core.repair.run_repair` on an 8-bit gray document of the decoded image;
  the result is clipped to [0, 255] and rounded to 8 bits;
- PSNR and SSIM (Gaussian 11x11, σ 1.5) over the whole image, peak 255; the JPEG input's own
  scores are reported too.
Speed is the median over images of seconds per megapixel on the device used.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
from PIL import Image

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
from core.methods.dejpeg import jpeg_roundtrip
from core.repair_cli import parse_params


def gray_of(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) uint8-valued gray: the image itself if gray, else MATLAB's Y (16..235), rounded."""
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]):
        return image[..., :1]
    return np.clip(np.round(rgb_to_y(image)), 0, 255)[..., None]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench dejpeg", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="folder of clean images (a bench set)")
    p.add_argument("--quality", type=int, required=True, help="JPEG quality (the literature: 10, 20, 30, 40)")
    p.add_argument("--method", nargs="+", default=None, help="method ids (default: every available one)")
    add_run_arguments(p)
    return p


def main(argv: list[str]) -> int:
    from core.bench.denoise import device_name
    from core.errors import LacunaError
    from core.methods import get_method, methods
    from core.repair import run_repair

    args = build_parser().parse_args(argv)
    if not 1 <= args.quality <= 100:
        raise LacunaError(f"--quality must be between 1 and 100, not {args.quality}")
    ids = args.method or [c.id for c in methods("dejpeg") if c.available]
    cards = {mid: get_method(mid).card for mid in ids}
    extra = parse_params(args.param)
    images = [(name, gray_of(image)) for name, image in load_set(args.set, gray=False)]
    if args.limit:
        images = images[: args.limit]
    plan = variants(ids, args.backend)
    contexts = backend_contexts(args, plan)
    for _label, mid, backend in plan:  # warm-up (imports, weights, ONNX export) so speed is steady-state
        if cards[mid].kind != "zero-shot":
            tiny = ImageDoc(pixels=images[0][1][None, :24, :24].astype(np.float32), dtype="uint8")
            run_repair(tiny, "dejpeg", method=mid, ctx=contexts[backend])

    rows: list[dict[str, Any]] = []
    scores = MethodScores([label for label, _mid, _backend in plan])
    jpeg_scores: dict[str, list[float]] = {"psnr": [], "ssim": []}
    for name, clean in images:
        compressed = jpeg_roundtrip(clean[..., 0].astype(np.uint8), args.quality).astype(np.float64)[
            ..., None
        ]
        row: dict[str, Any] = {"image": name, "JPEG PSNR": round(psnr(compressed, clean), 3)}
        jpeg_scores["psnr"].append(row["JPEG PSNR"])
        jpeg_scores["ssim"].append(ssim(compressed, clean))
        doc = ImageDoc(pixels=compressed[None].astype(np.float32), dtype="uint8", mode="L")
        megapixels = clean.shape[0] * clean.shape[1] / 1e6
        for label, mid, backend in plan:
            names = {p.name for p in cards[mid].params}
            params = {k: v for k, v in extra.items() if k in names}
            started = time.perf_counter()
            result = run_repair(doc, "dejpeg", method=mid, ctx=contexts[backend], **params)
            seconds = time.perf_counter() - started
            out = np.round(np.clip(result.pixels[0].astype(np.float64), 0.0, 255.0))
            p, s = psnr(out, clean), ssim(out, clean)
            scores.add(row, label, p, s, seconds / megapixels)
        rows.append(row)

    summary: dict[str, Any] = {
        "set": args.set,
        "images": len(images),
        "quality": args.quality,
        "encoder": f"Pillow {Image.__version__} JPEG (libjpeg, IJG tables, baseline)",
        "gray": "gray files as they are, color files as Y (16..235, rounded)",
        "device": device_name(contexts[plan[0][2]]),
        **backends_used(contexts),
        "JPEG PSNR": round(float(np.mean(jpeg_scores["psnr"])), 3),
        "JPEG SSIM": round(float(np.mean(jpeg_scores["ssim"])), 4),
    }
    scores.summarise(summary)
    extras = f", {' '.join(args.param)}" if args.param else ""
    folder = os.path.basename(os.path.normpath(args.set))
    title = f"JPEG artifact removal, quality {args.quality}, {folder}{extras}"
    emit(rows, summary, args.json, title)
    return 0
