"""`lacuna bench fill-slice`: missing slices rebuilt in real volumes, scored in the volume's own units.

Protocol (the datasets README's): from each volume, interior slices whose spacing to both neighbours is
even (within 1%) are removed, every `--every`-th of them (2: every other one), and blanked in the copy
the methods see; each method rebuilds them; PSNR over the rebuilt slices with the volume's value range
as peak, SSIM per slice (mean) and the mean absolute error in the volume's units (HU for CT). Linear and
cubic interpolation are always reported.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from core.bench.common import check_methods, emit

BASELINES = [
    ("linear", "fill-slice-interp", {"order": "linear"}),
    ("cubic", "fill-slice-interp", {"order": "cubic"}),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lacuna bench fill-slice", description=__doc__)
    p.add_argument(
        "--set", nargs="+", required=True, help="volumes: NIfTI files, DICOM files or series folders"
    )
    p.add_argument("--every", type=int, default=2, help="remove every N-th evenly spaced interior slice")
    p.add_argument("--method", nargs="*", default=["fill-slice-flow", "fill-slice-self"])
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="for methods that take K")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    return p


def removable(positions: np.ndarray, every: int) -> list[int]:
    """Interior slices with even spacing either side, every `every`-th one, none adjacent to another."""
    steps = np.diff(positions)
    even = [k for k in range(2, len(positions) - 2) if abs(steps[k - 1] - steps[k]) <= 0.01 * abs(steps[k])]
    chosen: list[int] = []
    for k in even[:: max(every, 1)]:
        if not chosen or k - chosen[-1] >= 2:
            chosen.append(k)
    return chosen


def scores(truth: np.ndarray, rebuilt: np.ndarray, peak: float) -> tuple[float, float, float]:
    """PSNR (dB, peak = the volume's range), mean SSIM per slice and MAE, in the volume's units."""
    from skimage.metrics import structural_similarity

    err = rebuilt.astype(np.float64) - truth.astype(np.float64)
    psnr = 10 * np.log10(peak**2 / max(float(np.mean(err**2)), 1e-12))
    ssim = np.mean(
        [structural_similarity(t[..., 0], r[..., 0], data_range=peak) for t, r in zip(truth, rebuilt)]
    )
    return float(psnr), float(ssim), float(np.abs(err).mean())


def main(argv: list[str] | None = None) -> int:
    from core.io import read
    from core.methods import get_method
    from core.repair import run_repair
    from core.repair.frames import stack_geometry
    from core.repair_cli import parse_params
    from core.runtime.context import RunContext

    args = build_parser().parse_args(argv)
    extra = check_methods(args.method, "fill-slice")
    params = parse_params(args.param)
    methods = [*BASELINES, *[(m.removeprefix("fill-slice-"), m, {}) for m in extra]]
    rows: list[dict[str, Any]] = []
    totals: dict[str, list[float]] = {label: [] for label, _, _ in methods}
    for path in args.set:
        doc = read(path)
        positions = np.asarray(stack_geometry(doc, doc.stacks()[0])["positions"])
        gone = removable(positions, args.every)
        if not gone:
            continue
        truth = doc.pixels[gone]
        blanked = doc.pixels.copy()
        blanked[gone] = float(doc.pixels.min())
        lo, hi = float(doc.pixels.min()), float(doc.pixels.max())
        seen = doc.with_pixels(blanked)
        seen.stored_range = (lo, hi)  # the methods normalise by the true volume's range, not the blank's
        row: dict[str, Any] = {"volume": str(path).rstrip("/").split("/")[-1], "removed": len(gone)}
        for label, method_id, fixed in methods:
            # --param values go to the methods that take them (the rebuilt slices and fixed settings stay).
            takes = {p.name for p in get_method(method_id).card.params} - set(fixed) - {"slices"}
            own = {k: v for k, v in params.items() if k in takes}
            started = time.monotonic()
            ctx = RunContext(seed=args.seed)
            out = run_repair(
                seen, "fill-slice", method=method_id, ctx=ctx, slices=",".join(map(str, gone)), **fixed, **own
            )
            seconds = time.monotonic() - started
            psnr, ssim, mae = scores(truth, out.pixels[gone], hi - lo)
            row[f"{label} PSNR / SSIM / MAE"] = f"{psnr:.2f} / {ssim:.4f} / {mae:.2f}"
            row[f"{label} s"] = round(seconds, 1)
            totals[label].append(psnr)
        rows.append(row)
    summary = {f"{label} mean PSNR": round(float(np.mean(v)), 3) for label, v in totals.items() if v}
    title = f"Missing slices, every {args.every} of the evenly spaced interior slices removed"
    emit(rows, summary, args.json, title)
    return 0
