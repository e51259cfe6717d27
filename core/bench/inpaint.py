"""`lacuna bench inpaint`: inpainting methods on a bench set with fixed LaMa-style masks.

    lacuna bench inpaint --set ../shared/datasets/images/bench/CBSD68 --masks medium thick
    lacuna bench inpaint --set ../shared/datasets/medical/693_UNCI.dcm --masks thick --json
    lacuna bench inpaint --set .../CBSD68 --masks thin --method inpaint-dip --limit 5 --device cuda
    lacuna bench inpaint --set ../shared/datasets/medical/head_ct_ge --limit 6   # a volume: see below

Protocol: image i (in name order; frame i of a DICOM file or series) gets `random_mask(H, W, kind,
seed=seed + i)` from core.masks (--seed, default 0; masked area at most 50%). Every method runs through
the engine (`core.repair`), as a user's repair would. Scores: PSNR and SSIM inside the hole and over the
whole image, on the image's own scale (0..255 for 8-bit; for medical frames the peak is the frame's own
value range, max - min); the hole's detail (mean gradient magnitude of the fill over that of the lost
content: 1 = as textured, 0 = flat, above 1 busier, seams included; core.bench.metrics.detail_ratio);
and seconds per image (the median, so that a GPU's start-up on the first image does not count as the
method's speed). 8-bit results are rounded to integers first, as a saved file would be. `--figure`
writes a PNG grid (input with holes / mask / each method) for the first three images.

A volume (a NIfTI file, or a DICOM series folder of three or more slices) is benched on held-back slices
with holes inside the body, scored in its units inside the holes (core.bench.inpaint_volume).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.bench.common import (
    SUFFIXES,
    add_run_arguments,
    backend_contexts,
    check_methods,
    emit,
    torch_reference,
    variants,
)
from core.bench.metrics import detail_ratio, psnr, ssim
from core.bench.scan_slices import volume_set
from core.errors import LacunaError
from core.repair_cli import parse_params

SLOW = {"inpaint-dip"}  # run only when asked for by name


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench inpaint", description=__doc__.split("\n")[0])
    p.add_argument("--set", required=True, help="a folder of images, or a DICOM/NIfTI file or folder")
    p.add_argument("--masks", nargs="+", default=["medium"], choices=["thin", "medium", "thick"])
    p.add_argument("--method", nargs="+", default=None, help="method ids (default: all but the slow ones)")
    add_run_arguments(p)
    p.add_argument("--per-image", action="store_true", help="print every image's scores, not just the means")
    p.add_argument("--figure", default=None, help="write a PNG grid of results for three images")
    return p


# --- the samples --------------------------------------------------------------------------------------


def load_samples(path: str | Path, limit: int = 0) -> list[dict[str, Any]]:
    """Samples: name, doc (one frame), truth (H, W, C float64), PSNR peak and display range."""
    from core.io import read

    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES) if path.is_dir() else []
    samples = []
    if files:
        for f in files[: limit or None]:
            doc = read(f)
            truth = doc.pixels[0].astype(np.float64)
            lo, hi = doc.value_range
            samples.append({"name": f.stem, "doc": doc, "truth": truth, "peak": hi - lo, "show": (lo, hi)})
        return samples
    if not path.exists():
        raise LacunaError(f"bench set {path} does not exist")
    doc = read(path)  # a DICOM file or series, or a NIfTI volume
    count = doc.pixels.shape[0]
    for i in range(count if not limit else min(limit, count)):
        truth = doc.pixels[i].astype(np.float64)
        lo, hi = float(truth.min()), float(truth.max())
        show = _window(doc, lo, hi)
        frame = doc.with_pixels(doc.pixels[i : i + 1])
        name = f"{path.stem}[{i}]" if count > 1 else path.stem
        samples.append({"name": name, "doc": frame, "truth": truth, "peak": (hi - lo) or 1.0, "show": show})
    return samples


def _window(doc, lo: float, hi: float) -> tuple[float, float]:
    window = getattr(doc, "window", None)
    if window:
        centre, width = window
        return centre - width / 2.0, centre + width / 2.0
    return lo, hi


# --- running ------------------------------------------------------------------------------------------


def choose_methods(asked: list[str] | None) -> list[str]:
    from core.methods import methods

    if asked:
        return check_methods(asked, "inpaint")
    return [c.id for c in methods("inpaint") if c.available and c.id not in SLOW]


def evaluate(sample: dict[str, Any], mask: np.ndarray, method_id: str, params: dict, ctx) -> dict:
    from core.methods import get_method
    from core.repair import run_repair

    card = get_method(method_id).card
    own = {k: v for k, v in params.items() if k in {p.name for p in card.params}}
    start = time.perf_counter()
    result = run_repair(
        sample["doc"],
        "inpaint",
        method=method_id,
        mask=mask,
        ctx=ctx,
        **own,
    )
    seconds = time.perf_counter() - start
    out = result.pixels[0].astype(np.float64)
    if getattr(sample["doc"], "dtype", "") in ("uint8", "uint16"):
        out = np.round(out)  # what a saved file would hold
    truth, peak = sample["truth"], sample["peak"]
    return {
        "out": out,
        "psnr_hole": psnr(out, truth, peak, mask=mask),
        "ssim_hole": ssim(out, truth, peak, mask=mask),
        "detail_hole": detail_ratio(out, truth, mask),
        "psnr": psnr(out, truth, peak),
        "ssim": ssim(out, truth, peak),
        "seconds": seconds,
        "s_per_mp": seconds / (truth.shape[0] * truth.shape[1] / 1e6),
    }


def main(argv: list[str]) -> int:
    from core.masks import random_mask
    from core.methods import get_method

    args = build_parser().parse_args(argv)
    volume = volume_set(args.set)
    if volume is not None:
        return _bench_volume(args, volume)
    samples = load_samples(args.set, args.limit)
    if not samples:
        raise LacunaError(f"no images in {args.set}")
    plan = variants(choose_methods(args.method), args.backend)
    labels = [label for label, _method, _backend in plan]
    params = parse_params(args.param)
    contexts = backend_contexts(args, plan)
    rows, figure_rows = [], []
    first = samples[0]
    for _label, method_id, backend in plan:  # warm-up (weights, ONNX export) so speed is steady-state
        if get_method(method_id).card.kind == "learned":
            warm = random_mask(*first["truth"].shape[:2], args.masks[0], seed=0)
            evaluate(first, warm, method_id, params, contexts[backend])
    for kind in args.masks:
        for index, sample in enumerate(samples):
            height, width = sample["truth"].shape[:2]
            mask = random_mask(height, width, kind, seed=args.seed + index)
            outputs = {}
            for label, method_id, backend in plan:
                scores = evaluate(sample, mask, method_id, params, contexts[backend])
                outputs[label] = scores.pop("out")
                rows.append({"image": sample["name"], "masks": kind, "method": label, **_rounded(scores)})
            if args.figure and kind == args.masks[0] and index < 3:
                figure_rows.append((sample, mask, outputs))
    summary = _summarise(rows)
    title = f"Inpainting on {Path(args.set).name} ({', '.join(args.masks)} masks)"
    if args.json:
        emit(rows, summary, True, title)
    else:
        _print_table(title, summary, rows if args.per_image else [])
    if args.figure:
        path = write_figure(args.figure, figure_rows, labels)
        if not args.json:
            print(f"\nfigure: {path}")
    return 0


def _bench_volume(args, document) -> int:
    from core.bench import inpaint_volume

    plan = variants(choose_methods(args.method), args.backend)
    name = Path(args.set.rstrip("/")).name
    rows, figure_rows, per_slice = inpaint_volume.run(args, document, name, plan, parse_params(args.param))
    title = f"Inpainting held-back slices of {name} ({', '.join(args.masks)} masks, scored inside the holes)"
    if args.json:
        emit(rows, {"per slice MAE": per_slice}, True, title)
    else:
        inpaint_volume.print_table(title, rows, per_slice if args.per_image else None)
    if args.figure:
        print(f"\nfigure: {write_figure(args.figure, figure_rows, [label for label, _m, _b in plan])}")
    return 0


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in scores.items()}


def _summarise(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Mean scores and median seconds per (masks, method); a hole PSNR of inf (a perfect fill) is left
    out of its mean."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(f"{row['masks']}/{row['method']}", []).append(row)
    summary = {}
    for key, group in groups.items():
        stats = {}
        for metric in ("psnr_hole", "ssim_hole", "detail_hole", "psnr", "ssim", "seconds", "s_per_mp"):
            values = [r[metric] for r in group if np.isfinite(r[metric])]
            average = np.median if metric in ("seconds", "s_per_mp") else np.mean
            stats[metric] = round(float(average(values)), 3) if values else float("nan")
        stats["images"] = len(group)
        summary[key] = stats
    for key, stats in summary.items():  # backend variants against float32 torch on the same images
        kind, label = key.split("/", 1)
        reference = summary.get(f"{kind}/{torch_reference(label)}")
        if reference is not None:
            stats["psnr_hole - torch"] = round(stats["psnr_hole"] - reference["psnr_hole"], 4)
            stats["psnr - torch"] = round(stats["psnr"] - reference["psnr"], 4)
    return summary


def _print_table(title: str, summary: dict, rows: list[dict]) -> None:
    print(f"## {title}\n")
    print(
        "| masks | method | PSNR hole (dB) | SSIM hole | detail hole | PSNR image (dB) | SSIM image "
        "| s/image | s/MP | images |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, s in summary.items():
        kind, method = key.split("/", 1)
        print(
            f"| {kind} | {method} | {s['psnr_hole']:.2f} | {s['ssim_hole']:.4f} | {s['detail_hole']:.2f} | "
            f"{s['psnr']:.2f} | "
            f"{s['ssim']:.4f} | {s['seconds']:.2f} | {s['s_per_mp']:.2f} | {s['images']} |"
        )
    for key, s in summary.items():
        if "psnr_hole - torch" in s:
            print(
                f"\n- {key}: PSNR hole {s['psnr_hole - torch']:+.4f} dB, image {s['psnr - torch']:+.4f} dB "
                "against float32 torch"
            )
    if rows:
        print("\n| image | masks | method | PSNR hole | SSIM hole | detail hole | PSNR | SSIM | s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['image']} | {r['masks']} | {r['method']} | {r['psnr_hole']:.2f} | "
                f"{r['ssim_hole']:.4f} | {r['detail_hole']:.2f} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
                f"{r['seconds']:.2f} |"
            )


# --- the figure ---------------------------------------------------------------------------------------


def write_figure(path: str | Path, figure_rows: list, method_ids: list[str], tile: int = 220) -> Path:
    """A grid: one row per image; columns: input with holes, mask, each method's result (Pillow only)."""
    from PIL import Image, ImageDraw

    if not figure_rows:
        raise LacunaError("no images for the figure")
    labels = ["input", "mask", *[m.removeprefix("inpaint-") for m in method_ids]]
    label_h, pad = 18, 4
    tiles = []
    for sample, mask, outputs in figure_rows:
        lo, hi = sample["show"]
        damaged = sample["truth"].copy()
        row = [_to_rgb(damaged, lo, hi, hole=mask), _to_rgb(mask[..., None] * 1.0, 0.0, 1.0)]
        row += [_to_rgb(outputs[m], lo, hi) for m in method_ids]
        tiles.append(row)
    height, width = tiles[0][0].shape[:2]
    scale = tile / max(height, width)
    th, tw = max(1, round(height * scale)), max(1, round(width * scale))
    canvas = Image.new(
        "RGB", (len(labels) * (tw + pad) + pad, label_h + len(tiles) * (th + pad) + pad), "white"
    )
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(labels):
        draw.text((pad + c * (tw + pad) + 2, 3), label, fill="black")
    for r, row in enumerate(tiles):
        for c, arr in enumerate(row):
            img = Image.fromarray(arr).resize((tw, th), Image.Resampling.LANCZOS)
            canvas.paste(img, (pad + c * (tw + pad), label_h + r * (th + pad)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def _to_rgb(arr: np.ndarray, lo: float, hi: float, hole: np.ndarray | None = None) -> np.ndarray:
    """Window to 8-bit RGB; holes (when given) are painted magenta so they cannot be mistaken for content."""
    scaled = np.clip((np.asarray(arr, np.float64) - lo) / ((hi - lo) or 1.0), 0.0, 1.0) * 255.0
    rgb = np.repeat(scaled, 3, axis=-1) if scaled.shape[-1] == 1 else scaled[..., :3]
    rgb = rgb.round().astype(np.uint8)
    if hole is not None:
        rgb[hole] = (255, 0, 255)
    return rgb
