"""`lacuna bench denoise --set FOLDER --sigma S [--method ID ...] [--device D] [--limit N] [--json]`.

The protocol of the denoising literature (DnCNN, FFDNet, DRUNet):
- Gaussian noise of σ on the 0-255 scale, one fixed seed per image (`default_rng(seed + index)`),
  added in floating point and *not* clipped;
- gray sets (Set12, BSD68) are read as gray, color sets (CBSD68, McMaster) as RGB;
- the result is clipped to [0, 255] and rounded to 8 bits, as the published figures were;
- PSNR and SSIM over the whole image.

Each method runs through `core.repair.run_repair`, the path the app uses. The noisy image goes in as an
8-bit document holding unclipped float values: the engine normalises by the 0..255 range without
clipping its input, so the network sees exactly image + noise, and clips only its output. Methods with
a `sigma` parameter are told the true σ (non-blind, like the published figures); pass `--blind` to
make them estimate it. Speed is the median over images of seconds per megapixel on the device used.

A volume (a NIfTI file or DICOM series folder) is benched with the noise its scanner makes (low-dose
CT simulated in the projection domain, Rician MR) on held-back slices, scored over the body in its
units (core.bench.denoise_volume).
"""

from __future__ import annotations

import argparse
import os
import platform
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
    use_weights_folder,
    variants,
)
from core.bench.metrics import psnr, ssim
from core.bench.scan_slices import volume_set
from core.documents import ImageDoc
from core.errors import LacunaError
from core.repair_cli import parse_params
from core.runtime.context import RunContext

GRAY_SETS = {"set12", "bsd68", "classic5"}


def add_noise(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """clean (0..255) + N(0, σ²), float, unclipped."""
    rng = np.random.default_rng(seed)
    return clean + rng.normal(0.0, sigma, clean.shape)


def noisy_document(noisy: np.ndarray) -> ImageDoc:
    """An 8-bit document with unclipped float values (see the module docstring)."""
    mode = "L" if noisy.shape[2] == 1 else "RGB"
    return ImageDoc(pixels=noisy[None].astype(np.float32), dtype="uint8", mode=mode, format="PNG")


def device_name(ctx: RunContext) -> str:
    import torch

    device = ctx.torch_device()
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"CPU: {model}, {torch.get_num_threads()} threads of {os.cpu_count()} cores"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench denoise", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="a folder of clean images, or a volume (NIfTI, DICOM series)")
    p.add_argument(
        "--sigma",
        type=float,
        default=None,
        help="noise σ on the 0-255 scale (images, required); on an MR volume the Rician σ in its units",
    )
    p.add_argument("--dose", type=float, default=5e5, help="CT volumes: photons per ray of the low-dose scan")
    p.add_argument("--views", type=int, default=360, help="CT volumes: projection angles over 180°")
    p.add_argument("--method", nargs="+", default=None, help="method ids (default: every denoise method)")
    p.add_argument("--color", choices=["auto", "gray", "rgb"], default="auto", help="how to read the set")
    p.add_argument("--blind", action="store_true", help="do not tell methods σ; they estimate it")
    p.add_argument("--weights", default=None, help="a folder of weights to use instead of resources/weights")
    p.add_argument(
        "--skip",
        type=int,
        default=0,
        help="leave out the first N images; each image keeps the noise seed of its place in the set, "
        "so runs split with --skip/--limit add up to one whole run",
    )
    add_run_arguments(p)
    return p


def _is_gray(folder: str, choice: str) -> bool:
    if choice != "auto":
        return choice == "gray"
    from pathlib import Path

    return Path(folder).name.lower() in GRAY_SETS


def main(argv: list[str]) -> int:
    from core.methods import get_method, methods
    from core.repair import run_repair

    args = build_parser().parse_args(argv)
    if args.weights:
        use_weights_folder(args.weights)
    ids = args.method or [card.id for card in methods("denoise") if card.available]
    volume = volume_set(args.set)
    if volume is not None:
        return _bench_volume(args, volume, variants(ids, args.backend))
    if args.sigma is None:
        raise LacunaError("--sigma is needed for a set of images (the noise σ on the 0-255 scale)")
    cards = {mid: get_method(mid).card for mid in ids}
    extra = parse_params(args.param)
    gray = _is_gray(args.set, args.color)
    images = load_set(args.set, gray=gray)
    first = args.skip
    images = images[first : first + args.limit if args.limit else None]
    plan = variants(ids, args.backend)
    contexts = backend_contexts(args, plan)
    for _label, mid, backend in plan:  # warm-up (imports, weights, ONNX export) so speed is steady-state
        if cards[mid].kind == "learned":
            tiny = noisy_document(images[0][1][:24, :24])
            run_repair(tiny, "denoise", method=mid, ctx=contexts[backend], sigma=args.sigma)

    rows: list[dict[str, Any]] = []
    scores = MethodScores([label for label, _mid, _backend in plan])
    noisy_psnr = []
    for index, (name, clean) in enumerate(images, start=first):
        noisy = add_noise(clean, args.sigma, args.seed + index)
        noisy_psnr.append(psnr(noisy, clean))
        row: dict[str, Any] = {"image": name}
        megapixels = clean.shape[0] * clean.shape[1] / 1e6
        for label, mid, backend in plan:
            names = {p.name for p in cards[mid].params}
            params = {k: v for k, v in extra.items() if k in names}
            if "sigma" in names and not args.blind:
                params["sigma"] = args.sigma
            started = time.perf_counter()
            result = run_repair(noisy_document(noisy), "denoise", method=mid, ctx=contexts[backend], **params)
            seconds = time.perf_counter() - started
            out = np.round(np.clip(result.pixels[0].astype(np.float64), 0.0, 255.0))
            p, s = psnr(out, clean), ssim(out, clean)
            scores.add(row, label, p, s, seconds / megapixels)
        rows.append(row)

    summary: dict[str, Any] = {
        "set": args.set,
        "images": len(images),
        "read as": "gray" if gray else "RGB",
        "sigma": args.sigma,
        "sigma given to methods": not args.blind,
        "seed": args.seed,
        "device": device_name(contexts[plan[0][2]]),
        **backends_used(contexts),
        "noisy PSNR": round(float(np.mean(noisy_psnr)), 3),
    }
    scores.summarise(summary)
    extras = f", {' '.join(args.param)}" if args.param else ""
    title = f"Denoising, σ={args.sigma:g}, {os.path.basename(os.path.normpath(args.set))}{extras}"
    emit(rows, summary, args.json, title)
    return 0


def _bench_volume(args, document, plan) -> int:
    from pathlib import Path

    from core.bench import denoise_volume

    name = Path(args.set.rstrip("/")).name
    rows, summary = denoise_volume.run(args, document, name, plan, parse_params(args.param))
    title = f"Denoising held-back slices of {name}: {summary['noise']}, scored over the body"
    if args.json:
        emit(rows, summary, True, title)
    else:
        denoise_volume.print_table(title, summary)
    return 0
