"""`lacuna bench denoise --set VOLUME`: realistic scan noise on held-back slices, scored in the scan's units.

    lacuna bench denoise --set ../shared/datasets/medical/head_ct_ge --limit 4 --dose 5e5
    lacuna bench denoise --set ../shared/datasets/medical/FLAIR.nii.gz --limit 4 --method denoise-nlmeans

Noise as the scanner makes it, not Gaussian on the pixels (core.scan_noise, the same rule the
scan denoiser is trained with):
- CT (the file says CT, or its values reach air at -1000 HU): low-dose noise simulated in the
  projection domain, `--dose` photons per ray, `--views` angles over 180°.
- MR (anything else): Rician noise of σ `--sigma` in the volume's units (default: 4% of the body's
  99th percentile).

Held-back slices and the body as in core.bench.scan_slices (`--limit`, default 4). Every method runs
blind (the noise is not Gaussian, so no σ is handed over) through the engine on those slices only.
Scores over the body of each held-back slice: MAE and RMSE in the volume's units (HU for CT), PSNR
with the clean volume's value range as the peak, SSIM; the noisy input is scored too.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from core.bench.scan_slices import body_masks, errors, held_back
from core.methods.modality import is_ct
from core.scan_noise import MR_SIGMA_FRACTION, low_dose_noise, pixel_mm, rician

DEFAULT_SLICES = 4


def add_scan_noise(
    document, slices: list[int], args, bodies: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The volume with noise on the held-back slices, and what noise it is (for the report)."""
    noisy = document.pixels.copy()
    if is_ct(document):
        pixel = pixel_mm(document)
        for k in slices:
            noise = low_dose_noise(document.pixels[k, ..., 0], pixel, args.dose, args.views, args.seed + k)
            noisy[k, ..., 0] += noise
        return noisy, {"noise": "low-dose CT (projection domain)", "dose (photons/ray)": args.dose}
    sigma = args.sigma or MR_SIGMA_FRACTION * float(np.percentile(document.pixels[..., 0][bodies], 99))
    for k in slices:
        noisy[k, ..., 0] = rician(document.pixels[k, ..., 0], sigma, args.seed + k)
    return noisy, {"noise": "Rician (MR)", "sigma": round(sigma, 3)}


def run(args, document, name: str, plan: list, params: dict) -> tuple[list[dict], dict[str, Any]]:
    """`bench denoise` on a volume: (a row per held-back slice, the summary with each method's means).
    `params` go to the methods that take them (--param)."""
    from core.bench.common import backend_contexts
    from core.bench.metrics import ssim
    from core.methods import get_method
    from core.repair import run_repair
    from core.repair.units import unit_name

    bodies = body_masks(document.pixels)
    slices = held_back(bodies, args.limit or DEFAULT_SLICES)
    lo, hi = document.value_range
    peak = (hi - lo) or 1.0
    noisy_pixels, noise = add_scan_noise(document, slices, args, bodies)
    noisy = document.with_pixels(noisy_pixels)
    units = unit_name(document)
    results = {"noisy input": noisy_pixels}
    seconds = {}
    contexts = backend_contexts(args, plan)
    for label, method_id, backend in plan:
        started = time.perf_counter()
        own = {k: v for k, v in params.items() if k in {p.name for p in get_method(method_id).card.params}}
        result = run_repair(noisy, "denoise", method=method_id, ctx=contexts[backend], frames=slices, **own)
        results[label] = result.pixels
        seconds[label] = (time.perf_counter() - started) / len(slices)
    rows = []
    for k in slices:
        truth, body = document.pixels[k, ..., 0], bodies[k]
        row: dict[str, Any] = {"slice": k}
        for label, pixels in results.items():
            e = errors(truth, pixels[k, ..., 0], body, peak)
            similarity = ssim(
                pixels[k].astype(np.float64), truth[..., None].astype(np.float64), peak, mask=body
            )
            row[label] = {
                f"MAE ({units})": round(e["mae"], 2),
                f"RMSE ({units})": round(e["rmse"], 2),
                "PSNR": round(e["psnr"], 2),
                "SSIM": round(float(similarity), 4),
            }
        rows.append(row)
    summary: dict[str, Any] = {"volume": name, "slices": slices, **noise}
    for label in results:
        means = {key: round(float(np.mean([r[label][key] for r in rows])), 3) for key in rows[0][label]}
        summary[label] = {**means, **({"s/slice": round(seconds[label], 1)} if label in seconds else {})}
    return rows, summary


def print_table(title: str, summary: dict[str, Any]) -> None:
    print(f"## {title}\n")
    labels = [k for k, v in summary.items() if isinstance(v, dict)]
    keys = list(summary[labels[0]])
    print(", ".join(f"{k}: {v}" for k, v in summary.items() if not isinstance(v, dict)) + "\n")
    print("| method | " + " | ".join(keys) + " | s/slice |")
    print("|" + "---|" * (len(keys) + 2))
    for label in labels:
        values = summary[label]
        print(
            f"| {label} | " + " | ".join(str(values[k]) for k in keys) + f" | {values.get('s/slice', '')} |"
        )
